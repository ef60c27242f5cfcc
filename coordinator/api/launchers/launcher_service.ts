import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { FailureReason, JobState, JobStateSchema } from "../../../gen/tether/v1/job_pb.ts";
import { LauncherState } from "../../../gen/tether/v1/launcher_pb.ts";
import type { LauncherService } from "../../../gen/tether/v1/launcher_service_pb.ts";
import { TokenRole } from "../../../gen/tether/v1/token_pb.ts";
import { callingLauncher, principalKey } from "../../auth/principal.ts";
import { hashSecret, newLauncherCredential } from "../../auth/secrets.ts";
import type { Engine } from "../../dispatch/engine.ts";
import { invalidArgument, permissionDenied } from "../../domain/errors.ts";
import { acceptJob } from "../../storage/accept_job.ts";
import { appendJobEvents } from "../../storage/append_job_events.ts";
import type { AttemptOutcome } from "../../storage/end_attempt.ts";
import { finishJob } from "../../storage/finish_job.ts";
import { heartbeat, orphanGraceMs } from "../../storage/heartbeat.ts";
import { launcherId as launcherIdOf } from "../../domain/ids.ts";
import { deregisterLauncher, registerLauncher } from "../../storage/launchers.ts";
import { jobToProto, launcherToProto } from "../to_proto.ts";
import {
  checkEnum,
  checkExecutorSessionId,
  checkJsonObject,
  checkLabels,
  checkRange,
  checkText,
  requireName,
  requireText,
} from "../validate.ts";
import { pollJobs } from "./poll_jobs.ts";

/** Failure reasons a launcher may report; the others are the coordinator's to decide. */
const reportableReasons = [
  FailureReason.EXIT_NONZERO,
  FailureReason.EXECUTOR_ERROR,
  FailureReason.TIMEOUT,
  FailureReason.LAUNCHER_LOST,
];

/**
 * The launcher API: registration, polling, reports. Every call but
 * RegisterLauncher acts for the launcher its credential names.
 */
export function launcherService(engine: Engine): ServiceImpl<typeof LauncherService> {
  const { db, config, policy } = engine;
  /** The epoch a fencing token for `jobId` stands for; -1 (no attempt's) when it was not issued for it. */
  const epochOf = (jobId: string, token: string, field: string) =>
    engine.fencing.epochOf(jobId, requireText(token, field, 64));
  /** A report on one attempt: its launcher, its job and its epoch. */
  const report = (req: { jobId: string; fencingToken: string }, launcherId: string) => {
    const jobId = requireText(req.jobId, "jobId", 128);
    return { launcherId, jobId, epoch: epochOf(jobId, req.fencingToken, "fencingToken") };
  };
  return {
    async registerLauncher(req, ctx) {
      if (req.executors.length === 0) throw invalidArgument("executors must list at least one executor profile");
      if (req.executors.length > 64) throw invalidArgument("executors may list at most 64 executor profiles");
      const registration = {
        name: requireName(req.name, "name"),
        hostname: requireText(req.hostname, "hostname", 253),
        labels: checkLabels(req.labels, "labels"),
        executors: req.executors.map((e, i) => requireName(e, `executors[${i}]`)),
        maxConcurrency: checkRange(req.maxConcurrency, "maxConcurrency", 1, 1000),
        version: checkText(req.version, "version", 64),
        instanceId: requireText(req.instanceId, "instanceId", 128),
      };
      const by = ctx.values.get(principalKey);
      if (by?.kind !== "token") throw permissionDenied("RegisterLauncher needs a registration token");
      const id = launcherIdOf(registration.hostname, registration.name);
      const credential = newLauncherCredential(id);
      const { launcher, changes, replaced } = await registerLauncher(
        db,
        {
          ...registration,
          credentialHash: hashSecret(credential),
          by: { tokenId: by.tokenId, admin: by.role === TokenRole.ADMIN },
        },
        { ...policy, leaseMs: config.leaseMs },
        engine.now(),
        // The old credential must stop working the moment the new one is committed, not after the fsync.
        () => engine.launcherChanged(id),
      );
      if (replaced) {
        engine.log.warn("launcher taken over by a new instance", {
          launcherId: id,
          oldInstanceId: replaced.instance_id,
          newInstanceId: launcher.instance_id,
          token: by.tokenId,
        });
      }
      await engine.publish(changes);
      engine.timer.arm(launcher.lease_expires_at);
      return {
        launcher: launcherToProto(launcher),
        heartbeatInterval: durationFromMs(config.heartbeatIntervalMs),
        leaseDuration: durationFromMs(config.leaseMs),
        pollHold: durationFromMs(config.pollHoldMs),
        acceptTimeout: durationFromMs(config.acceptTimeoutMs),
        credential,
      };
    },

    pollJobs: (req, ctx) => pollJobs(engine, callingLauncher(ctx), req, ctx),

    async acceptJob(req, ctx) {
      const r = report(req, callingLauncher(ctx).launcherId);
      const launcher = await engine.launcher(r.launcherId);
      const { job, changed } = await acceptJob(db, { ...r, hostname: launcher.hostname }, engine.now());
      if (changed) await engine.publish({ jobs: [job], launchers: [] });
      return { job: jobToProto(job) };
    },

    async heartbeat(req, ctx) {
      const { launcherId } = callingLauncher(ctx);
      if (req.runningJobs.length > 1000) throw invalidArgument("runningJobs may list at most 1000 jobs");
      const running = req.runningJobs.map((j, i) => {
        const jobId = requireText(j.jobId, `runningJobs[${i}].jobId`, 128);
        return { jobId, epoch: epochOf(jobId, j.fencingToken, `runningJobs[${i}].fencingToken`) };
      });
      const now = engine.now();
      const known = await engine.launcher(launcherId);
      if (running.length === 0 && (known.state === LauncherState.ONLINE || known.state === LauncherState.DRAINING)) {
        // A live launcher that runs nothing: renewed with others in one write (see LeaseKeeper).
        engine.leases.note(launcherId, now);
        return {
          leaseExpireTime: timestampFromMs(now + config.leaseMs),
          cancelJobIds: [],
          staleJobIds: [],
          drain: known.state === LauncherState.DRAINING,
          deregistered: false,
        };
      }
      // It runs something (or is gone): this heartbeat renews its lease itself, and a heartbeat noted
      // earlier, which listed nothing, must not feed a later orphan check.
      engine.leases.forget(launcherId);
      const beat = await heartbeat(db, {
        launcherId,
        running,
        leaseMs: config.leaseMs,
        orphanGraceMs: orphanGraceMs(config.heartbeatIntervalMs),
      }, policy, now);
      if (beat.launcher) engine.timer.arm(beat.launcher.lease_expires_at);
      if (beat.orphaned.length > 0) await engine.publish({ jobs: beat.orphaned, launchers: [] });
      return {
        leaseExpireTime: beat.launcher ? timestampFromMs(beat.launcher.lease_expires_at) : undefined,
        cancelJobIds: beat.cancelJobIds,
        staleJobIds: beat.staleJobIds,
        drain: beat.launcher?.state === LauncherState.DRAINING,
        deregistered: beat.launcher === null,
      };
    },

    async appendJobEvents(req, ctx) {
      const r = report(req, callingLauncher(ctx).launcherId);
      if (req.events.length > 1000) throw invalidArgument("events may hold at most 1000 events per batch");
      const events = req.events.map((e, i) => checkJsonObject(e, `events[${i}]`, 1024 * 1024));
      const firstOffset = checkRange(Number(req.firstOffset), "firstOffset", 0, Number.MAX_SAFE_INTEGER);
      const executorSessionId = checkExecutorSessionId(req.executorSessionId, "executorSessionId");
      const { job, changed } = await appendJobEvents(
        db,
        { ...r, firstOffset, events, executorSessionId },
        config.maxJobEventBytes,
        engine.now(),
      );
      if (changed) await engine.publish({ jobs: [job], launchers: [] });
      return { nextOffset: BigInt(job.next_event_offset) };
    },

    async finishJob(req, ctx) {
      const r = report(req, callingLauncher(ctx).launcherId);
      const state = checkEnum(req.state, JobStateSchema, "state");
      if (state !== JobState.SUCCEEDED && state !== JobState.FAILED && state !== JobState.CANCELLED) {
        throw invalidArgument("state must be JOB_STATE_SUCCEEDED, JOB_STATE_FAILED or JOB_STATE_CANCELLED");
      }
      if (state === JobState.FAILED && !reportableReasons.includes(req.failureReason)) {
        throw invalidArgument(
          "a FAILED report needs failureReason FAILURE_REASON_EXIT_NONZERO, _EXECUTOR_ERROR, _TIMEOUT or _LAUNCHER_LOST",
        );
      }
      const outcome: AttemptOutcome = {
        state,
        reason: state === JobState.FAILED ? req.failureReason : state === JobState.CANCELLED
          ? FailureReason.CANCELLED
          : FailureReason.UNSPECIFIED,
        error: checkText(req.error, "error", 64 * 1024),
        exitCode: req.exitCode ?? null,
        result: req.result === undefined ? null : checkJsonObject(req.result, "result", 1024 * 1024),
        executorSessionId: checkExecutorSessionId(req.executorSessionId, "executorSessionId"),
      };
      const nextEventOffset = req.nextEventOffset === undefined
        ? null
        : checkRange(Number(req.nextEventOffset), "nextEventOffset", 0, Number.MAX_SAFE_INTEGER);
      const { job, changed } = await finishJob(db, { ...r, outcome, nextEventOffset }, policy, engine.now());
      if (changed) await engine.publish({ jobs: [job], launchers: [] });
      return { job: jobToProto(job) };
    },

    async deregisterLauncher(_req, ctx) {
      const { launcher, changes } = await deregisterLauncher(db, callingLauncher(ctx).launcherId, policy, engine.now(), {
        removed: false,
      });
      await engine.publish(changes);
      return { launcher: launcherToProto(launcher) };
    },
  };
}
