// tether's benchmarks, side by side with the queues people would pick instead.
//
//   npm run bench           quick (under two minutes); writes to a temporary folder
//   npm run bench:full      everything; writes docs/benchmarks.md and docs/benchmarks/*.png
//   node --import tsx bench/run_bench.ts --mode quick|full [--subjects a,b] [--suites x,y] [--out DIR]
//   node --import tsx bench/run_bench.ts --report DIR/benchmarks/results-full.json [--out DIR]
//                          (tables, charts and markdown again from a run's results, without running)
//
// Suites: dispatch, throughput, idle-cost, idle-polls, claim, writes. Subjects: see
// bench/subjects/registry.ts. Every system runs on this machine, one at a time, with its
// load generators as separate processes; see docs/benchmarks.md for the method.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { configs } from "./bench_config.ts";
import { renderCharts } from "./report/charts.ts";
import { writeMarkdown } from "./report/markdown.ts";
import type { BenchResults } from "./report/results.ts";
import { printTables } from "./report/tables.ts";
import { killChildren, repoDir } from "./support/child.ts";
import { machineSnapshot, waitForQuiet } from "./support/machine.ts";
import { type RunningSubject, type Subject, subjects } from "./subjects/registry.ts";
import { claimQuery } from "./suites/claim_query.ts";
import { dispatchLatency } from "./suites/dispatch_latency.ts";
import { idleCost } from "./suites/idle_cost.ts";
import { idlePolls } from "./suites/idle_polls.ts";
import { throughput } from "./suites/throughput.ts";
import { writeStalls } from "./suites/write_stalls.ts";

const allSuites = ["dispatch", "throughput", "idle-cost", "idle-polls", "claim", "writes"] as const;

const { values } = parseArgs({
  options: {
    mode: { type: "string", default: "quick" },
    subjects: { type: "string" },
    suites: { type: "string" },
    out: { type: "string" },
    report: { type: "string" },
  },
});
const mode = values.mode === "full" ? "full" : "quick";
const config = configs[mode];
const wanted = (list: string | undefined, all: readonly string[]) => (list ? list.split(",") : [...all]);
const suites = new Set(wanted(values.suites, allSuites));
const chosen = subjects.filter((s) => wanted(values.subjects, subjects.map((x) => x.id)).includes(s.id));
const outDir = resolve(values.out ?? (mode === "full" ? join(repoDir, "docs") : mkdtempSync(join(tmpdir(), "tether-bench-"))));
const command = ["node --import tsx bench/run_bench.ts", ...process.argv.slice(2)].join(" ");

if (values.report) {
  const saved = JSON.parse(readFileSync(values.report, "utf8")) as BenchResults;
  await report(saved, resolve(values.out ?? join(repoDir, "docs")));
  process.exit(0);
}

/** Prints the tables, renders the charts and writes OUT/benchmarks.md. */
async function report(r: BenchResults, dir: string): Promise<void> {
  mkdirSync(join(dir, "benchmarks"), { recursive: true });
  const json = join(dir, "benchmarks", `results-${r.mode}.json`);
  writeFileSync(json, `${JSON.stringify(r, null, 1)}\n`);
  printTables(r);
  const charts = await renderCharts(json, join(dir, "benchmarks"));
  const doc = writeMarkdown(r, join(dir, "benchmarks.md"), charts);
  process.stdout.write(`\nWrote ${relative(process.cwd(), doc) || doc} (${charts.length} charts). Reproduce with:\n  ${r.command}\n`);
}

process.on("SIGINT", () => {
  killChildren();
  process.exit(130);
});

const started = Date.now();
const results: BenchResults = {
  mode, startedAt: new Date().toISOString(), seconds: 0, command, machineAtStart: machineSnapshot(),
  machineAtEnd: machineSnapshot(), dispatch: [], throughput: [], idlePolls: [], idleCost: [], claim: [], writes: [],
  failures: [],
};
const failures: string[] = [];
/** Runs one suite; a failure is recorded and reported, and the run goes on with the next. */
async function attempt<T>(what: string, fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (error) {
    failures.push(`${what}: ${(error as Error).message.split("\n")[0]}`);
    step(`FAILED ${what}: ${(error as Error).message}`);
    return null;
  }
}
const step = (what: string) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${what}\n`);
// Other work on the machine skews every number: a full run waits for it to calm down (up to a minute
// before each system); a quick run has no time for that and relies on the recorded load average.
const quiet = async () => {
  if (mode === "quick") return;
  const busy = await waitForQuiet(60_000);
  if (busy >= 0.2) step(`the machine is still ${(busy * 100).toFixed(0)}% busy with other work; measuring anyway`);
};

try {
  // Each suite gets the system freshly started on a fresh database: no jobs left over from an
  // overloaded dispatch rate, no launchers of an earlier suite lapsing during a later one's window.
  const perSystem: { suite: string; describe: (label: string) => string; run: (subject: Subject, running: RunningSubject) => Promise<void> }[] = [
    {
      suite: "idle-cost",
      describe: (label) => `${label}: idle cost with ${config.idleLaunchers} idle consumers`,
      run: async (subject, running) => {
        const cost = await attempt(`${subject.id} idle cost`, () => idleCost(subject, running, config));
        if (cost) results.idleCost.push(cost);
      },
    },
    {
      suite: "dispatch",
      describe: (label) => `${label}: dispatch latency at ${config.rates.join(", ")} jobs/s`,
      run: async (subject, running) => {
        results.dispatch.push(...(await attempt(`${subject.id} dispatch`, () => dispatchLatency(subject, running, config))) ?? []);
      },
    },
    {
      suite: "throughput",
      describe: (label) => `${label}: burning down ${config.burnDownJobs} jobs, one per poll and batched`,
      run: async (subject, running) => {
        results.throughput.push(...(await attempt(`${subject.id} throughput`, () => throughput(subject, running, config))) ?? []);
      },
    },
  ];
  for (const subject of chosen) {
    for (const { suite, describe, run } of perSystem.filter((p) => suites.has(p.suite))) {
      await quiet();
      step(describe(subject.label));
      const running = await attempt(`${subject.id} start`, () => subject.start());
      if (!running) continue;
      try {
        await run(subject, running);
      } finally {
        await running.stop();
      }
    }
  }
  for (const backend of chosen.filter((s) => s.id.startsWith("tether-"))) {
    await quiet();
    if (suites.has("idle-polls") && (backend.id === "tether-sqlite" || mode === "full")) {
      step(`${backend.label}: ${config.idlePolls} held polls`);
      const polls = await attempt(`${backend.id} held polls`, () => idlePolls(backend, config));
      if (polls) results.idlePolls.push(polls);
    }
    if (suites.has("claim")) {
      step(`${backend.label}: claim query with ${config.claimQueued} queued jobs`);
      const claim = await attempt(`${backend.id} claim`, () => claimQuery(backend, config));
      if (claim) results.claim.push(claim);
    }
  }
  if (suites.has("writes") && chosen.some((s) => s.id === "tether-sqlite")) {
    await quiet();
    step(`SQLite: ${config.writeTransactions} single write transactions`);
    const writes = await attempt("writes", () => writeStalls(config));
    if (writes) results.writes.push(writes);
  }
} finally {
  killChildren();
}

results.seconds = (Date.now() - started) / 1000;
results.failures = failures;
results.machineAtEnd = machineSnapshot();
await report(results, outDir);
process.exit(0);
