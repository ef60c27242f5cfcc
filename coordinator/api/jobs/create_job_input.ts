import { createHash } from "node:crypto";
import { toJson } from "@bufbuild/protobuf";
import { JobType, JobTypeSchema } from "../../../gen/tether/v1/job_pb.ts";
import { type CreateJobRequest, CreateJobRequestSchema } from "../../../gen/tether/v1/job_service_pb.ts";
import type { CoordinatorConfig } from "../../config.ts";
import { invalidArgument } from "../../domain/errors.ts";
import type { NewJob } from "../../storage/create_job.ts";
import {
  checkAbsolutePath,
  checkEnum,
  checkJsonObject,
  checkLabels,
  checkMetadata,
  checkRange,
  checkText,
  durationMs,
  requireName,
  requireText,
} from "../validate.ts";

const day = 86_400_000;

/** Checks a CreateJob request field by field and applies the defaults. */
export function createJobInput(req: CreateJobRequest, config: CoordinatorConfig): NewJob {
  const type = checkEnum(req.type, JobTypeSchema, "type");
  const resume = type === JobType.RESUME_SESSION;
  if (type !== JobType.START_SESSION && req.sessionName !== "") {
    throw invalidArgument("sessionName is only for JOB_TYPE_START_SESSION; a resume names its session with sessionId");
  }
  if (!resume && req.sessionId !== "") {
    throw invalidArgument("sessionId is only for JOB_TYPE_RESUME_SESSION; a new session gets its id from the coordinator");
  }
  if (req.concurrencyKey === "" && req.concurrencyLimit !== 0) {
    throw invalidArgument("concurrencyLimit needs a concurrencyKey to apply to");
  }
  return {
    type,
    executor: requireName(req.executor, "executor"),
    parameters: checkJsonObject(req.parameters, "parameters", 256 * 1024),
    projectDir: resume && req.projectDir === "" ? "" : checkAbsolutePath(req.projectDir, "projectDir"),
    sessionName: req.sessionName === "" ? null : requireName(req.sessionName, "sessionName"),
    sessionId: resume ? requireText(req.sessionId, "sessionId", 128) : null,
    labels: checkLabels(req.labels, "labels"),
    metadata: checkMetadata(req.metadata, "metadata"),
    targetLauncherId: req.launcherId === "" ? null : checkText(req.launcherId, "launcherId", 128),
    targetHostname: req.hostname === "" ? null : checkText(req.hostname, "hostname", 253),
    priority: checkRange(req.priority, "priority", -1000, 1000),
    concurrencyKey: req.concurrencyKey === "" ? null : checkText(req.concurrencyKey, "concurrencyKey"),
    concurrencyLimit: req.concurrencyLimit === 0 ? 1 : checkRange(req.concurrencyLimit, "concurrencyLimit", 1, 1000),
    idempotencyKey: req.idempotencyKey === "" ? null : checkText(req.idempotencyKey, "idempotencyKey"),
    requestDigest: digest(req),
    maxAttempts: req.maxAttempts === 0 ? 3 : checkRange(req.maxAttempts, "maxAttempts", 1, 100),
    timeoutMs: durationMs(req.timeout, "timeout", 100, 7 * day),
    matchTimeoutMs: durationMs(req.matchTimeout, "matchTimeout", 100, 30 * day) ?? config.matchTimeoutMs,
    retryJobFailures: req.retryJobFailures,
  };
}

/** A digest of the request, to tell a retried CreateJob from a different job under the same key. */
function digest(req: CreateJobRequest): string {
  return createHash("sha256").update(stableJson(toJson(CreateJobRequestSchema, req))).digest("hex");
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
