import { recordFigures } from "./figures.ts";
import type { InvariantReport } from "./invariants.ts";

/** The fault suite's size: short by default (part of `npm test`), long with TETHER_FAULTS=long. */
export const faultMode: "short" | "long" = process.env.TETHER_FAULTS === "long" ? "long" : "short";

/** Picks the short or the long figure. */
export function bySize<T>(short: T, long: T): T {
  return faultMode === "long" ? long : short;
}

/** A guard for a scenario's test: long enough never to cut a healthy run short. */
export const scenarioTimeoutMs = bySize(150_000, 900_000);

/** The largest of some numbers, or undefined when there are none. */
export function maxOf(values: Iterable<number>): number | undefined {
  let max: number | undefined;
  for (const v of values) if (max === undefined || v > max) max = v;
  return max;
}

/**
 * Records the figures of a scenario that ran jobs: the counts come from the
 * invariant report; the note says what the faults were, what recovery time
 * measures here, how the jobs ended and what else was checked.
 */
export function recordScenario(
  scenario: string,
  report: InvariantReport,
  figures: { faults: number; faultsDetail: string; maxRecoveryMs?: number; recovery: string; notes?: string[] },
): void {
  const outcomes = Object.entries(report.byState).map(([state, n]) => `${n} ${state}`).join(", ");
  recordFigures(scenario, {
    jobs: report.jobs,
    faults: figures.faults,
    lost: report.lost.length,
    doubled: report.doubled.length,
    stuck: report.stuck.length,
    maxRecoveryMs: figures.maxRecoveryMs,
    note: [
      `Faults: ${figures.faultsDetail}.`,
      `Recovery time: ${figures.recovery}.`,
      `Jobs ended ${outcomes}; missing events ${report.missingEvents.length}, ` +
      `inconsistent records ${report.inconsistent.length}.`,
      ...(figures.notes ?? []),
    ].join(" "),
  });
  if (process.env.TETHER_FAULTS_RESULTS) console.log(`[faults] ${scenario}: recorded`);
}
