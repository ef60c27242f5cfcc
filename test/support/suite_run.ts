/**
 * What the runners of the long suites (`npm run test:faults`, `npm run
 * test:abuse`) share: vitest run in the long mode with a results file, the
 * figures the tests recorded in it read back, and how the run went.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { repoDir } from "../../tools/support/tsx_process.ts";
import { commitDescription, loadAverage, machineFacts, type RunFacts } from "./run_facts.ts";

export interface SuiteRunOptions {
  /** The suite's folder, run whole unless the arguments name files. */
  readonly folder: string;
  /** The variable that selects the long mode (set to "long"), and the one naming the results file. */
  readonly modeVariable: string;
  readonly resultsVariable: string;
  /** Arguments given to the runner: file filters narrow the run, flags are passed on. */
  readonly args: readonly string[];
  /** Flags of the suite's own for vitest. */
  readonly vitestFlags?: readonly string[];
}

export interface SuiteRun<Line> {
  /** Whether file filters narrowed the run (such a run does not rewrite the report). */
  readonly partial: boolean;
  readonly resolvedCommand: string;
  /** Vitest's exit status, or its signal. */
  readonly status: number | string;
  readonly lines: Line[];
  readonly started: number;
  readonly wallMs: number;
  readonly loadBefore: string;
}

/** Runs the suite in its long mode, its output on this terminal, and returns the figures its tests recorded. */
export function runLongSuite<Line>(options: SuiteRunOptions): SuiteRun<Line> {
  const partial = options.args.some((arg) => !arg.startsWith("-"));
  const vitestArgs = ["run", ...(partial ? [] : [options.folder]), ...(options.vitestFlags ?? []), ...options.args];
  const resultsDir = mkdtempSync(join(os.tmpdir(), "tether-suite-results-"));
  const results = join(resultsDir, "figures.ndjson");
  writeFileSync(results, "");
  const loadBefore = loadAverage();
  const started = Date.now();
  try {
    const run = spawnSync(process.execPath, [join(repoDir, "node_modules", "vitest", "vitest.mjs"), ...vitestArgs], {
      cwd: repoDir,
      stdio: "inherit",
      env: { ...process.env, [options.modeVariable]: "long", [options.resultsVariable]: results },
    });
    return {
      partial,
      resolvedCommand: [`${options.modeVariable}=long`, "vitest", ...vitestArgs].join(" "),
      status: run.status ?? run.signal ?? "unknown",
      lines: readFileSync(results, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Line),
      started,
      wallMs: Date.now() - started,
      loadBefore,
    };
  } finally {
    rmSync(resultsDir, { recursive: true, force: true });
  }
}

/**
 * Exits when the run cannot rewrite the report: a test failed or recorded
 * nothing (exit status of vitest, or 1), or file filters made it partial (0).
 */
export function exitUnlessWhole(run: SuiteRun<unknown>, suite: string, reportPath: string): void {
  if (run.status !== 0 || run.lines.length === 0) {
    process.stderr.write(`The ${suite} failed (exit ${run.status}); ${reportPath} was not rewritten.\n`);
    process.exit(typeof run.status === "number" && run.status !== 0 ? run.status : 1);
  }
  if (run.partial) {
    process.stdout.write(`A partial run (${run.resolvedCommand}): ${reportPath} was not rewritten.\n`);
    process.exit(0);
  }
}

/** How a whole run's figures were produced, for its report; `command` is what a person types. */
export function factsOf(run: SuiteRun<unknown>, command: string): RunFacts {
  return {
    command,
    resolvedCommand: run.resolvedCommand,
    date: new Date(run.started).toISOString(),
    commit: commitDescription(),
    wallMs: run.wallMs,
    machine: machineFacts(run.loadBefore),
  };
}
