import type { JobRow } from "./db/rows.ts";

/**
 * What a storage write changed, for the dispatch layer to act on once it is
 * committed (Engine.write turns it into wake-ups, timers and watch events).
 * Every write that changes jobs or launchers returns it beside its value, so
 * a handler that writes cannot forget one.
 */
export interface Changes {
  /** Jobs whose state, events or deadline changed, as they are now: watchers, deadlines, dispatch, other replicas. */
  readonly jobs: readonly JobRow[];
  /** Launchers whose row changed: what is kept of them is dropped, and their held polls look for commands. */
  readonly launchers: readonly string[];
  /** Jobs offered here (claimed by a poll): their accept deadlines are armed; other replicas are not told. */
  readonly offers: readonly JobRow[];
  /** Launcher leases written, as the times they run out: the deadline timer must look at them. */
  readonly leases: readonly number[];
}

/** A write's value and what it changed. */
export interface Written<T> {
  readonly value: T;
  readonly changes: Changes;
}

/** Changes made of the parts given; the others empty. */
export function changesOf(parts: Partial<Changes> = {}): Changes {
  return { jobs: [], launchers: [], offers: [], leases: [], ...parts };
}

/** A write's result: its value and the changes given. */
export function written<T>(value: T, parts: Partial<Changes> = {}): Written<T> {
  return { value, changes: changesOf(parts) };
}

/** A write that changed one job, or nothing (a repeated report, a second cancel). */
export function jobWritten(job: JobRow, changed: boolean): Written<JobRow> {
  return written(job, changed ? { jobs: [job] } : {});
}
