import { type ChildProcess, spawn } from "node:child_process";
import { killCoordinatorProcesses } from "../../tools/support/coordinator_process.ts";
import { JsonLines, type LogLine } from "../../tools/support/json_lines.ts";
import { spawnTsx } from "../../tools/support/tsx_process.ts";

export { repoDir } from "../../tools/support/tsx_process.ts";

/** One NDJSON message (a line that is not JSON comes as {"text": ...}). */
export type Message = LogLine & { type?: string };

/**
 * A child process that speaks NDJSON on stdout and stderr (one message a
 * line, read as one stream) and takes commands as lines on stdin. Every load
 * generator and server in the benchmark is one.
 */
export class Child {
  readonly output: JsonLines;
  private readonly exited: Promise<number | null>;

  constructor(readonly name: string, readonly process: ChildProcess) {
    this.output = new JsonLines([process.stdout!, process.stderr!], name);
    this.exited = new Promise((done) => process.once("exit", (code) => done(code)));
    running.add(this);
    void this.exited.then(() => running.delete(this));
  }

  get pid(): number {
    return this.process.pid!;
  }

  /** Every message so far. */
  get messages(): readonly Message[] {
    return this.output.lines;
  }

  /** Calls `fn` for every message from now on; returns a function that stops it. */
  on(fn: (m: Message) => void): () => void {
    return this.output.on(fn);
  }

  /** The first message (seen or to come) that matches; rejects if the child's output ends first or after timeoutMs. */
  waitFor(match: (m: Message) => boolean, what: string, timeoutMs = 120_000): Promise<Message> {
    return this.output.waitFor(match, what, timeoutMs);
  }

  send(command: Message): void {
    this.process.stdin?.write(`${JSON.stringify(command)}\n`);
  }

  tail(): string {
    return this.output.tail(20);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process exited. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    this.process.kill("SIGTERM");
    const timer = setTimeout(() => this.process.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  waitExit(): Promise<number | null> {
    return this.exited;
  }
}

const running = new Set<Child>();

/** Kills every child and coordinator still running (the benchmark's exit path). */
export function killChildren(): void {
  for (const child of running) child.process.kill("SIGKILL");
  killCoordinatorProcesses();
}

/** Starts a TypeScript file of this repository under `node --import tsx`, stdin open for commands. */
export function startNode(
  name: string,
  script: string,
  args: readonly string[] = [],
  options: { env?: Record<string, string>; nodeFlags?: readonly string[] } = {},
): Child {
  const env = { ...process.env, ...options.env };
  return new Child(name, spawnTsx(script, args, { nodeFlags: options.nodeFlags, env, stdio: ["pipe", "pipe", "pipe"] }));
}

/** Starts any executable with NDJSON-free output (a database server). */
export function startProgram(name: string, command: string, args: readonly string[]): Child {
  return new Child(name, spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] }));
}
