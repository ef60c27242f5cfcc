import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { createInterface } from "node:readline";

export const repoDir = resolve(import.meta.dirname, "../..");

export type Message = Record<string, unknown> & { type?: string };

/**
 * A child process that speaks NDJSON on stdout (one message a line) and
 * takes commands as lines on stdin. Lines that are not JSON are kept for
 * error reports. Every load generator and server in the benchmark is one.
 */
export class Child {
  readonly messages: Message[] = [];
  private readonly text: string[] = [];
  private readonly listeners = new Set<(m: Message) => void>();
  private readonly exited: Promise<number | null>;

  constructor(readonly name: string, readonly process: ChildProcess) {
    for (const stream of [process.stdout!, process.stderr!]) {
      createInterface({ input: stream }).on("line", (line) => this.onLine(line));
    }
    this.exited = new Promise((done) => process.once("exit", (code) => done(code)));
    running.add(this);
    void this.exited.then(() => running.delete(this));
  }

  get pid(): number {
    return this.process.pid!;
  }

  private onLine(line: string): void {
    let message: Message | null = null;
    if (line.startsWith("{")) {
      try {
        message = JSON.parse(line) as Message;
      } catch {
        message = null;
      }
    }
    if (!message) {
      this.text.push(line);
      if (this.text.length > 50) this.text.shift();
      return;
    }
    this.messages.push(message);
    for (const listener of this.listeners) listener(message);
  }

  /** Calls `fn` for every message from now on; returns a function that stops it. */
  on(fn: (m: Message) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The first message (seen or to come) that matches; rejects if the child exits first or after timeoutMs. */
  waitFor(match: (m: Message) => boolean, what: string, timeoutMs = 120_000): Promise<Message> {
    const seen = this.messages.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolveWait, reject) => {
      const timer = setTimeout(() => fail(`no ${what} within ${timeoutMs} ms`), timeoutMs);
      const off = this.on((m) => {
        if (!match(m)) return;
        clearTimeout(timer);
        off();
        resolveWait(m);
      });
      const fail = (why: string) => {
        off();
        reject(new Error(`${this.name}: ${why}; last output:\n${this.tail()}`));
      };
      void this.exited.then((code) => {
        clearTimeout(timer);
        fail(`exited (code ${code}) before ${what}`);
      });
    });
  }

  send(command: Message): void {
    this.process.stdin?.write(`${JSON.stringify(command)}\n`);
  }

  tail(): string {
    return this.text.slice(-20).join("\n");
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

/** Kills every child still running (the benchmark's exit path). */
export function killChildren(): void {
  for (const child of running) child.process.kill("SIGKILL");
}

/** Starts a TypeScript file of this repository under `node --import tsx`. */
export function startNode(
  name: string,
  script: string,
  args: readonly string[] = [],
  options: { env?: Record<string, string>; nodeFlags?: readonly string[] } = {},
): Child {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", ...(options.nodeFlags ?? []), resolve(repoDir, script), ...args],
    { cwd: repoDir, stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...options.env } },
  );
  return new Child(name, child);
}

/** Starts any executable with NDJSON-free output (a database server). */
export function startProgram(name: string, command: string, args: readonly string[]): Child {
  return new Child(name, spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] }));
}
