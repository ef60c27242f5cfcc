import type { ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JsonLines } from "./json_lines.ts";
import { issueRoleTokensAt, type RoleTokens } from "./role_tokens.ts";
import { spawnTsx } from "./tsx_process.ts";

export interface CoordinatorProcessOptions {
  /** What to pass as --db: a SQLite file in a fresh folder unless given. */
  readonly db?: string;
  /** 127.0.0.1:0 unless given. */
  readonly listen?: string;
  /** More flags for coordinator/main.ts. */
  readonly flags?: readonly string[];
  /** Flags for node itself (a preload, a profiler). */
  readonly nodeFlags?: readonly string[];
  readonly env?: Record<string, string>;
  /** Tokens made on this database before (by an earlier start); made now unless given. */
  readonly tokens?: RoleTokens;
  /** Who the tokens made now are for: the first part of their names. */
  readonly tokensFor: string;
  /** How it is named in failure messages. */
  readonly name?: string;
  /** How long it may take to print its "listening" line. */
  readonly listenTimeoutMs?: number;
}

export interface SpawnedCoordinator {
  readonly url: string;
  readonly port: number;
  readonly db: string;
  /** One token of each role, made on its database before it started, so that making them is neither timed nor counted. */
  readonly tokens: RoleTokens;
  readonly child: ChildProcess;
  /** Its log, one JSON line each. */
  readonly logs: JsonLines;
  readonly stderr: JsonLines;
  /** Sends SIGTERM (then SIGKILL after `graceMs`, when given) and resolves once the process exited. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts the real coordinator, `coordinator/main.ts`, as a process of its
 * own, the tokens made on its database first, and resolves once it printed
 * its "listening" line.
 */
export async function spawnCoordinator(options: CoordinatorProcessOptions): Promise<SpawnedCoordinator> {
  const db = options.db ?? join(mkdtempSync(join(tmpdir(), "tether-coordinator-")), "tether.db");
  const tokens = options.tokens ?? await issueRoleTokensAt(db, options.tokensFor);
  const name = options.name ?? "coordinator";
  const child = spawnTsx(
    "coordinator/main.ts",
    ["--listen", options.listen ?? "127.0.0.1:0", "--db", db, ...(options.flags ?? [])],
    { nodeFlags: options.nodeFlags, env: { ...process.env, ...options.env } },
  );
  const logs = new JsonLines(child.stdout!, name);
  const stderr = new JsonLines(child.stderr!, `${name} stderr`);
  const exited = new Promise<void>((resolveExit) => child.once("exit", () => resolveExit()));
  running.add(child);
  void exited.then(() => running.delete(child));
  const listening = await logs.waitFor((line) => line.msg === "listening", 'the "listening" line', options.listenTimeoutMs)
    .catch((err) => {
      throw new Error(`${(err as Error).message}\nstderr:\n${stderr.tail()}`);
    });
  const url = String(listening.url);
  return {
    url,
    port: Number(new URL(url).port),
    db,
    tokens,
    child,
    logs,
    stderr,
    async stop(graceMs) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = graceMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

const running = new Set<ChildProcess>();

/** Kills every coordinator process this process started that still runs (for afterAll, or a benchmark's exit). */
export function killCoordinatorProcesses(): void {
  for (const child of running) child.kill("SIGKILL");
}
