import { createInterface } from "node:readline";
import type { Message } from "./child.ts";

/** Sends one message to the orchestrator (a line of NDJSON on stdout). */
export function emit(message: Message): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

/** Calls `fn` for each command the orchestrator writes on stdin. */
export function onCommand(fn: (command: Message) => void): void {
  createInterface({ input: process.stdin }).on("line", (line) => {
    if (line.trim()) fn(JSON.parse(line) as Message);
  });
}

/** Parses `--name value` pairs into a record; every load generator takes its settings this way. */
export function parseFlags(argv: readonly string[]): Record<string, string> {
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i]!;
    if (!name.startsWith("--") || argv[i + 1] === undefined) throw new Error(`expected --name value, got "${name}"`);
    flags[name.slice(2)] = argv[i + 1]!;
  }
  return flags;
}
