import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { LauncherState } from "../../../gen/tether/v1/launcher_pb.ts";
import type { HeartbeatRequest, HeartbeatResponseSchema } from "../../../gen/tether/v1/launcher_service_pb.ts";
import type { LauncherPrincipal } from "../../auth/principal.ts";
import { invalidArgument } from "../../domain/errors.ts";
import { isRegistered } from "../../domain/launcher_slots.ts";
import { orphanGraceMs } from "../../domain/orphans.ts";
import type { Engine } from "../../dispatch/engine.ts";
import { heartbeat as storeHeartbeat } from "../../storage/heartbeat.ts";
import { requireText } from "../validate.ts";
import { epochOf } from "./attempt_report.ts";

type HeartbeatAnswer = MessageInitShape<typeof HeartbeatResponseSchema>;

/**
 * Renews the launcher's lease and reconciles the jobs it runs with those it
 * holds: the stale ones it must kill, the cancels it must carry out; held
 * attempts it no longer runs end LAUNCHER_LOST.
 */
export async function heartbeat(
  engine: Engine,
  caller: LauncherPrincipal,
  req: HeartbeatRequest,
): Promise<HeartbeatAnswer> {
  const { launcherId } = caller;
  if (req.runningJobs.length > 1000) throw invalidArgument("runningJobs may list at most 1000 jobs");
  const running = req.runningJobs.map((j, i) => {
    const jobId = requireText(j.jobId, `runningJobs[${i}].jobId`, 128);
    return { jobId, epoch: epochOf(engine, jobId, j.fencingToken, `runningJobs[${i}].fencingToken`) };
  });
  const idle = await answerIdleHeartbeat(engine, launcherId, running.length);
  if (idle) return idle;
  // It runs something (or is gone): this heartbeat renews its lease itself, and a heartbeat noted
  // earlier, which listed nothing, must not feed a later orphan check.
  engine.leases.forget(launcherId);
  const beat = await engine.write(storeHeartbeat(engine.db, {
    launcherId,
    running,
    leaseMs: engine.config.leaseMs,
    orphanGraceMs: orphanGraceMs(engine.config.heartbeatIntervalMs),
  }, engine.policy, engine.now()));
  return {
    leaseExpireTime: beat.launcher ? timestampFromMs(beat.launcher.lease_expires_at) : undefined,
    cancelJobIds: beat.cancelJobIds,
    staleJobIds: beat.staleJobIds,
    drain: beat.launcher?.state === LauncherState.DRAINING,
    deregistered: beat.launcher === null,
  };
}

/**
 * The fast path of a heartbeat from a live launcher that runs nothing: it
 * is answered at once, and its lease is renewed with others' in one write
 * (see LeaseKeeper). Null for any other heartbeat, which takes the plain path.
 */
async function answerIdleHeartbeat(
  engine: Engine,
  launcherId: string,
  running: number,
): Promise<HeartbeatAnswer | null> {
  if (running > 0) return null;
  const known = await engine.launcher(launcherId);
  if (!isRegistered(known.state)) return null;
  const now = engine.now();
  engine.leases.note(launcherId, now);
  return {
    leaseExpireTime: timestampFromMs(now + engine.config.leaseMs),
    cancelJobIds: [],
    staleJobIds: [],
    drain: known.state === LauncherState.DRAINING,
    deregistered: false,
  };
}
