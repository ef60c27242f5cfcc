import { JobState } from "../../gen/tether/v1/job_pb.ts";

/** An attempt a launcher holds, as the orphan check needs it. */
export interface HeldAttempt {
  id: string;
  launcher_id: string | null;
  state: JobState;
  epoch: number;
  start_time: number | null;
}

/**
 * How young an attempt may be and still be missing from its launcher's
 * heartbeat: its AcceptJob answer may be in flight for up to about one
 * heartbeat period, so two periods.
 */
export function orphanGraceMs(heartbeatIntervalMs: number): number {
  return 2 * heartbeatIntervalMs;
}

/**
 * The attempts a launcher holds but did not list as running: it lost track
 * of them (say after an AcceptJob answer it never saw). An attempt younger
 * than the grace may simply not be in the list yet.
 */
export function findOrphans<T extends HeldAttempt>(
  held: readonly T[],
  running: readonly { jobId: string }[],
  graceMs: number,
  now: number,
): T[] {
  const listed = new Set(running.map((r) => r.jobId));
  return held.filter((j) => j.state !== JobState.OFFERED && !listed.has(j.id) && (j.start_time ?? now) < now - graceMs);
}
