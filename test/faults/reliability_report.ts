import { type RunFacts, runFactLines } from "../support/run_facts.ts";
import type { Figures } from "./figures.ts";

/** One line of the results file: a scenario's name and its figures. */
export type ScenarioLine = Figures & { scenario: string };


/** Scenarios in the order: 1, 2, ... then 5a before 5b. */
export function inOrder(lines: readonly ScenarioLine[]): ScenarioLine[] {
  return [...lines].sort(byNumber);
}

function byNumber(a: ScenarioLine, b: ScenarioLine): number {
  const key = (s: ScenarioLine) => /^(\d+)([a-z]?)/.exec(s.scenario) ?? [, "999", ""];
  const [, na, la] = key(a);
  const [, nb, lb] = key(b);
  return Number(na) - Number(nb) || la!.localeCompare(lb!);
}

function duration(ms: number | undefined): string {
  if (ms === undefined || ms === null) return "-";
  if (!Number.isFinite(ms)) return "never";
  return ms < 10_000 ? `${(ms / 1000).toFixed(2)} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** One scenario as a heading, its table and its note. */
export function scenarioTable(line: ScenarioLine): string {
  return [
    `### ${line.scenario}`,
    "",
    "| Jobs | Faults injected | Lost | Doubled | Stuck | Max recovery time |",
    "| ---: | ---: | ---: | ---: | ---: | ---: |",
    `| ${line.jobs} | ${line.faults} | ${line.lost} | ${line.doubled} | ${line.stuck} | ${
      duration(line.maxRecoveryMs)
    } |`,
    ...(line.note ? ["", line.note] : []),
    "",
  ].join("\n");
}

/** docs/reliability.md: how the figures were made, what they mean, and a table per scenario. */
export function reliabilityReport(lines: readonly ScenarioLine[], facts: RunFacts): string {
  const totals = lines.reduce(
    (t, l) => ({ jobs: t.jobs + l.jobs, faults: t.faults + l.faults, bad: t.bad + l.lost + l.doubled + l.stuck }),
    { jobs: 0, faults: 0, bad: 0 },
  );
  return [
    "# Reliability: figures from the fault suite",
    "",
    "tether promises that an acknowledged job is never lost and never runs twice under a valid token. The fault",
    "suite (`test/faults/`) runs real coordinator and launcher processes on 127.0.0.1, injects the failures below",
    "and, at the end of each scenario, reads the coordinator's SQLite database to check that promise. This page is",
    "written by `npm run test:faults` (its last section, on hostile load, by `npm run test:abuse`); do not edit it",
    "by hand. `npm test` runs the same scenarios, shorter, and asserts the same invariants.",
    "",
    "## How these figures were produced",
    "",
    ...runFactLines(facts, duration),
    "",
    `In all: ${totals.jobs} jobs, ${totals.faults} faults injected, ${totals.bad} jobs lost, doubled or stuck.`,
    "",
    "Setup: vitest runs two scenario files at a time. Each scenario starts its own coordinator (`coordinator/main.ts`,",
    "SQLite in WAL mode) with the test timings of `test/support/coordinator_process.ts` (lease 2 s, heartbeat every",
    "400 ms, accept deadline 2 s, poll hold 5 s, retry backoff from 100 ms) and launchers bundled from",
    "`launcher-deno/` running as Deno processes with their exact permission flags, 2 to 4 slots each. Jobs run",
    "`test/fixtures/seq_executor`, which writes 4 to 10 numbered events over 0.1 to 0.7 s and then its result.",
    "",
    "## What the columns mean",
    "",
    "- **Jobs**: jobs in the scenario's database (each acknowledged by CreateJob).",
    "- **Faults injected**: kills, pauses, dropped or delayed answers, races, as the scenario's note details.",
    "- **Lost**: jobs a client saw created that are missing from the database.",
    '- **Doubled**: jobs with a numbered event (`{"seq": n}` from `test/fixtures/seq_executor`) stored twice in',
    "  one attempt, or one attempt (one fencing token) run by two executor processes (from the executors' ledger).",
    "- **Stuck**: jobs not in a final state (SUCCEEDED, FAILED, CANCELLED) once the scenario is over.",
    "- **Max recovery time**: defined per scenario in its note, measured from timestamps (the coordinator's own",
    "  records where it has them), never asserted: tests assert the invariants only.",
    "",
    "Every scenario also checks that no stored numbered event is missing (a gap in an attempt, or a succeeded job",
    "short of its events) and that each final record agrees with its events (a success ends with its result event).",
    "",
    "## Scenarios",
    "",
    ...inOrder(lines).map(scenarioTable),
  ].join("\n");
}
