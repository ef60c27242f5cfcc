import type { ChildProcess } from "node:child_process";
import { type Job, JobState } from "../../gen/tether/v1/job_pb.ts";
import { clientsFor, type RoleClients } from "../../tools/support/connect_clients.ts";
import { spawnCoordinator } from "../../tools/support/coordinator_process.ts";
import type { JsonLines } from "../../tools/support/json_lines.ts";

export { killCoordinatorProcesses } from "../../tools/support/coordinator_process.ts";

/** Timings short enough for tests: a lost launcher is noticed in about 2 s. */
export const fastCoordinatorFlags: readonly string[] = [
  "--lease", "2s",
  "--heartbeat-interval", "400ms",
  "--accept-timeout", "2s",
  "--poll-hold", "5s",
  "--retry-backoff", "100ms",
  "--retry-backoff-max", "1s",
];

/** A coordinator process with clients of each role (`tokens` is one token of each, made before it started). */
export interface CoordinatorProcess extends RoleClients {
  readonly url: string;
  readonly port: number;
  readonly dbPath: string;
  readonly child: ChildProcess;
  readonly logs: JsonLines;
  /** Sends SIGTERM and resolves once the process exited. */
  stop(): Promise<void>;
}

export interface CoordinatorProcessOptions {
  /** Its flags; fastCoordinatorFlags unless given. */
  flags?: readonly string[];
  dbPath?: string;
  listen?: string;
  tokens?: CoordinatorProcess["tokens"];
}

/**
 * Starts `coordinator/main.ts` as a real process on 127.0.0.1 (port 0 unless
 * `listen` says otherwise) with a SQLite file in a fresh folder, and resolves
 * once it printed its "listening" line. `tokens`, from an earlier start on
 * the same database, are used instead of making new ones (which opens the
 * database before the coordinator does).
 */
export async function startCoordinatorProcess(options: CoordinatorProcessOptions = {}): Promise<CoordinatorProcess> {
  const started = await spawnCoordinator({
    db: options.dbPath,
    listen: options.listen,
    flags: options.flags ?? fastCoordinatorFlags,
    tokens: options.tokens,
    tokensFor: "test",
  });
  return {
    url: started.url,
    port: started.port,
    dbPath: started.db,
    child: started.child,
    logs: started.logs,
    ...clientsFor(started.url, started.tokens),
    stop: () => started.stop(),
  };
}

/**
 * Follows a job with WatchJob until `predicate` holds (the stream sends the
 * job first and again at every state change): no polling.
 */
export async function waitForJob(
  coordinator: Pick<CoordinatorProcess, "jobs">,
  id: string,
  predicate: (job: Job) => boolean,
  what = "the expected state",
  timeoutMs = 30_000,
): Promise<Job> {
  const signal = AbortSignal.timeout(timeoutMs);
  let last: Job | undefined;
  try {
    for await (const message of coordinator.jobs.watchJob({ id }, { signal })) {
      if (message.kind.case !== "job") continue;
      last = message.kind.value;
      if (predicate(last)) return last;
    }
  } catch (err) {
    throw new Error(`job ${id}: gave up waiting for ${what}; last seen ${describeJob(last)} (${(err as Error).message})`);
  }
  throw new Error(`job ${id} ended as ${describeJob(last)} without reaching ${what}`);
}

/** Waits until the job reached a final state and returns it. */
export function waitForJobEnd(coordinator: Pick<CoordinatorProcess, "jobs">, id: string, timeoutMs?: number): Promise<Job> {
  const finals = [JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED];
  return waitForJob(coordinator, id, (job) => finals.includes(job.state), "a final state", timeoutMs);
}

function describeJob(job: Job | undefined): string {
  if (!job) return "nothing";
  return `${JobState[job.state]} (attempt ${job.attempt}, launcher ${job.launcherId || "-"}, error ${JSON.stringify(job.error)})`;
}

/** Follows a job's events with WatchJob until one matches `predicate`, and returns it. */
export async function waitForEvent(
  coordinator: Pick<CoordinatorProcess, "jobs">,
  id: string,
  predicate: (event: Record<string, unknown>) => boolean,
  what = "the expected event",
  timeoutMs = 30_000,
): Promise<Record<string, unknown>> {
  const signal = AbortSignal.timeout(timeoutMs);
  for await (const message of coordinator.jobs.watchJob({ id }, { signal })) {
    if (message.kind.case !== "event") continue;
    const data = message.kind.value.data as Record<string, unknown>;
    if (predicate(data)) return data;
  }
  throw new Error(`job ${id} ended without ${what}`);
}

/** Every event of a job that has ended, in offset order. */
export async function jobEvents(coordinator: Pick<CoordinatorProcess, "jobs">, id: string): Promise<Record<string, unknown>[]> {
  const events: Record<string, unknown>[] = [];
  for await (const message of coordinator.jobs.watchJob({ id }, { signal: AbortSignal.timeout(30_000) })) {
    if (message.kind.case === "event") events.push(message.kind.value.data as Record<string, unknown>);
  }
  return events;
}
