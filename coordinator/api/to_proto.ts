import { create, type JsonObject } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { type Job, type JobEvent, JobEventSchema, JobSchema, JobState } from "../../gen/tether/v1/job_pb.ts";
import { type Launcher, LauncherSchema, type Offer, OfferSchema } from "../../gen/tether/v1/launcher_pb.ts";
import { type Session, SessionSchema } from "../../gen/tether/v1/session_pb.ts";
import { type Token, TokenSchema } from "../../gen/tether/v1/token_pb.ts";
import type { StoredEvent } from "../storage/read_job_events.ts";
import type { ApiTokenRow, JobRow, LauncherRow, SessionRow } from "../storage/db/rows.ts";
import type { LauncherWithLoad } from "../storage/list_launchers.ts";

const time = (ms: number | null) => (ms === null ? undefined : timestampFromMs(Number(ms)));
const json = (text: string | null) => (text === null ? undefined : JSON.parse(text) as JsonObject);

export function jobToProto(row: JobRow): Job {
  return create(JobSchema, {
    id: row.id,
    type: row.type,
    state: row.state,
    executor: row.executor,
    parameters: json(row.parameters),
    projectDir: row.project_dir,
    sessionId: row.session_id ?? "",
    labels: JSON.parse(row.labels) as Record<string, string>,
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    priority: row.priority,
    attempt: row.attempt,
    maxAttempts: row.max_attempts,
    launcherId: row.launcher_id ?? "",
    result: json(row.result),
    exitCode: row.exit_code ?? undefined,
    failureReason: row.failure_reason,
    error: row.error,
    createTime: time(row.create_time),
    updateTime: time(row.update_time),
    startTime: time(row.start_time),
    finishTime: time(row.finish_time),
    retryTime: row.state === JobState.RETRY_WAIT ? time(row.deadline_at) : undefined,
    targetLauncherId: row.target_launcher_id ?? "",
    targetHostname: row.target_hostname ?? "",
    concurrencyKey: row.concurrency_key ?? "",
    concurrencyLimit: row.concurrency_key === null ? 0 : row.concurrency_limit,
    idempotencyKey: row.idempotency_key ?? "",
    timeout: row.timeout_ms === null ? undefined : durationFromMs(row.timeout_ms),
    matchTimeout: durationFromMs(row.match_timeout_ms),
    retryJobFailures: row.retry_job_failures === 1,
    nextEventOffset: BigInt(row.next_event_offset),
  });
}

/** An offer of `row`, whose fencing token (FencingTokens.issue) the caller makes. */
export function offerToProto(row: JobRow, fencingToken: string, executorSessionId: string | null): Offer {
  return create(OfferSchema, {
    job: jobToProto(row),
    fencingToken,
    acceptDeadline: time(row.deadline_at),
    executorSessionId: executorSessionId ?? "",
  });
}

export function eventToProto(event: StoredEvent): JobEvent {
  return create(JobEventSchema, {
    offset: BigInt(event.offset),
    time: time(event.time),
    data: JSON.parse(event.data) as JsonObject,
    attempt: event.attempt,
  });
}

export function sessionToProto(row: SessionRow): Session {
  return create(SessionSchema, {
    id: row.id,
    name: row.name ?? "",
    executor: row.executor,
    executorSessionId: row.executor_session_id ?? "",
    launcherId: row.launcher_id ?? "",
    hostname: row.hostname ?? "",
    projectDir: row.project_dir,
    state: row.state,
    lastJobId: row.last_job_id,
    result: json(row.result),
    createTime: time(row.create_time),
    updateTime: time(row.update_time),
  });
}

export function launcherToProto(row: LauncherRow | LauncherWithLoad): Launcher {
  return create(LauncherSchema, {
    id: row.id,
    name: row.name,
    hostname: row.hostname,
    labels: JSON.parse(row.labels) as Record<string, string>,
    executors: JSON.parse(row.executors) as string[],
    maxConcurrency: row.max_concurrency,
    version: row.version,
    state: row.state,
    registerTime: time(row.register_time),
    leaseExpireTime: time(row.lease_expires_at),
    instanceId: row.instance_id,
    activeJobs: "active_jobs" in row ? row.active_jobs : 0,
  });
}

/** A token as operators see it: never its secret or hash. */
export function tokenToProto(row: ApiTokenRow): Token {
  return create(TokenSchema, {
    id: row.id,
    name: row.name,
    role: row.role,
    createTime: time(row.create_time),
    expireTime: time(row.expire_time),
    revokeTime: time(row.revoke_time),
  });
}
