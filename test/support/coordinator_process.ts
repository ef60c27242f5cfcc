import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { type Job, JobState } from "../../gen/tether/v1/job_pb.ts";
import { JobService } from "../../gen/tether/v1/job_service_pb.ts";
import { LauncherService } from "../../gen/tether/v1/launcher_service_pb.ts";
import { OperatorService } from "../../gen/tether/v1/operator_service_pb.ts";
import { SessionService } from "../../gen/tether/v1/session_pb.ts";
import { JsonLines } from "./json_lines.ts";
import { bearer, issueTestTokensAt, type TestTokens } from "./test_tokens.ts";

const repoDir = resolve(import.meta.dirname, "../..");

/** Timings short enough for tests: a lost launcher is noticed in about 2 s. */
export const fastCoordinatorFlags: readonly string[] = [
  "--lease", "2s",
  "--heartbeat-interval", "400ms",
  "--accept-timeout", "2s",
  "--poll-hold", "5s",
  "--retry-backoff", "100ms",
  "--retry-backoff-max", "1s",
];

export interface CoordinatorProcess {
  readonly url: string;
  readonly port: number;
  readonly dbPath: string;
  readonly child: ChildProcess;
  readonly logs: JsonLines;
  /** One token of each role, made on its database before it started. */
  readonly tokens: TestTokens;
  /** With the client token. */
  readonly jobs: Client<typeof JobService>;
  readonly sessions: Client<typeof SessionService>;
  /** With the admin token. */
  readonly operator: Client<typeof OperatorService>;
  /** A LauncherService client sending `token` (the registration token unless given). */
  launcherClient(token?: string): Client<typeof LauncherService>;
  /** Sends SIGTERM and resolves once the process exited. */
  stop(): Promise<void>;
}

/**
 * Starts `coordinator/main.ts` as a real process on 127.0.0.1 (port 0 unless
 * `listen` says otherwise) with a SQLite file in a fresh folder, and resolves
 * once it printed its "listening" line. `tokens`, from an earlier start on
 * the same database, are used instead of making new ones (which opens the
 * database before the coordinator does).
 */
export async function startCoordinatorProcess(
  options: { flags?: readonly string[]; dbPath?: string; listen?: string; tokens?: TestTokens } = {},
): Promise<CoordinatorProcess> {
  const dbPath = options.dbPath ?? join(mkdtempSync(join(tmpdir(), "tether-coordinator-")), "tether.db");
  const tokens = options.tokens ?? await issueTestTokensAt(dbPath);
  // `node --import tsx`, not the tsx CLI: one process, so a kill reaches the coordinator itself.
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(repoDir, "coordinator", "main.ts"),
      "--listen", options.listen ?? "127.0.0.1:0",
      "--db", dbPath,
      ...(options.flags ?? fastCoordinatorFlags),
    ],
    { cwd: repoDir, stdio: ["ignore", "pipe", "pipe"] },
  );
  const logs = new JsonLines(child.stdout!, "coordinator");
  const stderr = new JsonLines(child.stderr!, "coordinator stderr");
  const exited = new Promise<void>((resolveExit) => child.once("exit", () => resolveExit()));
  running.add(child);
  exited.then(() => running.delete(child));
  const listening = await logs.waitFor((line) => line.msg === "listening", 'the "listening" line')
    .catch((err) => {
      throw new Error(`${(err as Error).message}\nstderr:\n${stderr.tail()}`);
    });
  const url = String(listening.url);
  const transport = (token: string) =>
    createConnectTransport({ baseUrl: url, httpVersion: "1.1", interceptors: [bearer(token)] });
  return {
    url,
    port: Number(new URL(url).port),
    dbPath,
    child,
    logs,
    tokens,
    jobs: createClient(JobService, transport(tokens.client)),
    sessions: createClient(SessionService, transport(tokens.client)),
    operator: createClient(OperatorService, transport(tokens.admin)),
    launcherClient: (token = tokens.registration) => createClient(LauncherService, transport(token)),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

const running = new Set<ChildProcess>();

/** Kills every coordinator process still running (for afterAll). */
export function killCoordinatorProcesses(): void {
  for (const child of running) child.kill("SIGKILL");
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
