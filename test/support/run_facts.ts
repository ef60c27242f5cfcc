/**
 * What a report says about the run that produced it: the commit, the
 * machine, its load and the tool versions. Shared by the suites that write
 * docs/reliability.md (`npm run test:faults`, `npm run test:abuse`).
 */
import { execFileSync } from "node:child_process";
import os from "node:os";
import { join } from "node:path";
import { repoDir } from "../../tools/support/tsx_process.ts";

/** A git command's output in the repository, or "unknown" when git cannot answer. */
export function git(...args: string[]): string {
  try {
    return execFileSync("git", args, { cwd: repoDir, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}

/** The commit checked out, marked when the tree has uncommitted changes. */
export function commitDescription(): string {
  const dirty = git("status", "--porcelain").length > 0 ? " (with uncommitted changes)" : "";
  return `${git("rev-parse", "--short", "HEAD")}${dirty}`;
}

/** The 1, 5 and 15 minute load averages. */
export function loadAverage(): string {
  return os.loadavg().map((n) => n.toFixed(2)).join(", ");
}

/** The bundled Deno's version, or "unknown". */
export function denoVersion(): string {
  try {
    const out = execFileSync(join(repoDir, "node_modules", ".bin", "deno"), ["--version"], { encoding: "utf8" });
    return /deno (\S+)/.exec(out)?.[1] ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** The machine's lines of a report: CPUs, memory, system, the load around the run, the runtimes. */
export function machineFacts(loadBefore: string): string[] {
  return [
    `Machine: ${os.availableParallelism()} CPUs (\`nproc\`), ${os.cpus()[0]?.model ?? "unknown CPU"}, ` +
    `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB memory, ${os.type()} ${os.release()} ${os.arch()}`,
    `Load average (1, 5, 15 min): ${loadBefore} before the run, ${loadAverage()} after it`,
    `Node ${process.version} (coordinator, tests); Deno ${denoVersion()} (launchers)`,
  ];
}

/** How a suite's figures were produced, for its report's header. */
export interface RunFacts {
  readonly command: string;
  readonly resolvedCommand: string;
  readonly date: string;
  readonly commit: string;
  readonly wallMs: number;
  readonly machine: readonly string[];
}

/** The report's list of how its figures were produced; `duration` formats the wall time. */
export function runFactLines(facts: RunFacts, duration: (ms: number) => string): string[] {
  return [
    `- Command: \`${facts.command}\` (runs \`${facts.resolvedCommand}\`)`,
    `- Date: ${facts.date}; commit ${facts.commit}; wall time ${duration(facts.wallMs)}`,
    ...facts.machine.map((m) => `- ${m}`),
  ];
}
