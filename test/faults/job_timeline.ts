import { timestampMs } from "@bufbuild/protobuf/wkt";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import { FailureReason, type Job, JobState } from "../../gen/tether/v1/job_pb.ts";
import type { JobService } from "../../gen/tether/v1/job_service_pb.ts";
import { backoffMs, delay } from "../../launcher-deno/src/delay.ts";

/** One state of a job as WatchJob sent it, with the coordinator's time of the job's last change. */
export interface Snapshot {
  readonly state: JobState;
  readonly attempt: number;
  readonly launcherId: string;
  readonly failureReason: FailureReason;
  readonly error: string;
  readonly updateMs: number;
}

/** One stored event as WatchJob sent it, with the coordinator's time of storing it. */
export interface SeenEvent {
  readonly offset: number;
  readonly attempt: number;
  readonly timeMs: number;
  readonly data: Record<string, unknown>;
}

/** Everything a fault run saw of one job, in the order WatchJob sent it. */
export interface JobTimeline {
  readonly id: string;
  readonly snapshots: Snapshot[];
  readonly events: SeenEvent[];
  /** The job as it ended; undefined when it never ended while followed. */
  final?: Job;
}

const finals = [JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED];
const fatalCodes = [Code.NotFound, Code.Unauthenticated, Code.PermissionDenied];

export function isFinal(state: JobState): boolean {
  return finals.includes(state);
}

/**
 * Follows a job with WatchJob until it ends, into `timeline`. A stream that
 * breaks (the coordinator was killed, or restarts) is opened again from the
 * next unseen event, with jittered backoff, until `signal` aborts.
 */
export async function followJob(
  jobs: Client<typeof JobService>,
  timeline: JobTimeline,
  options: { signal: AbortSignal; onChange?: (timeline: JobTimeline) => void },
): Promise<void> {
  const { signal, onChange } = options;
  let nextOffset = 0n;
  for (let failures = 0; !signal.aborted;) {
    try {
      for await (const message of jobs.watchJob({ id: timeline.id, fromOffset: nextOffset }, { signal })) {
        failures = 0;
        if (message.kind.case === "job") {
          const job = message.kind.value;
          timeline.snapshots.push({
            state: job.state,
            attempt: job.attempt,
            launcherId: job.launcherId,
            failureReason: job.failureReason,
            error: job.error,
            updateMs: job.updateTime ? timestampMs(job.updateTime) : 0,
          });
          if (isFinal(job.state)) timeline.final = job;
        } else if (message.kind.case === "event") {
          const event = message.kind.value;
          timeline.events.push({
            offset: Number(event.offset),
            attempt: event.attempt,
            timeMs: event.time ? timestampMs(event.time) : 0,
            data: (event.data ?? {}) as Record<string, unknown>,
          });
          nextOffset = event.offset + 1n;
        }
        onChange?.(timeline);
      }
      // The stream ends when the job has ended, or when the coordinator shuts down.
      if (timeline.final) return;
    } catch (err) {
      if (signal.aborted) return;
      // A job that is not there, or a caller turned away, does not get better with another try.
      if (err instanceof ConnectError && fatalCodes.includes(err.code)) throw err;
    }
    failures += 1;
    await delay(backoffMs(failures, { baseMs: 50, maxMs: 1_000 }), signal).catch(() => undefined);
  }
}

/** The coordinator's time of the first stored change (a state or an event) of the job after `at`. */
export function firstChangeAfter(timeline: JobTimeline, at: number): number | undefined {
  const times = [
    ...timeline.snapshots.map((s) => s.updateMs),
    ...timeline.events.map((e) => e.timeMs),
  ].filter((t) => t > at);
  return times.length > 0 ? Math.min(...times) : undefined;
}

/** The coordinator's time of the first snapshot after `at` that matches. */
export function firstSnapshotAfter(
  timeline: JobTimeline,
  at: number,
  match: (snapshot: Snapshot) => boolean,
): Snapshot | undefined {
  return timeline.snapshots.find((s) => s.updateMs > at && match(s));
}
