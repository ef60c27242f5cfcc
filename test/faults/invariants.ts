import SQLite from "better-sqlite3";
import { FailureReason, JobState } from "../../gen/tether/v1/job_pb.ts";

/** One executor run, as test/fixtures/seq_executor writes it to its ledger. */
export interface LedgerRun {
  jobId: string;
  attempt: number;
  pid: number;
}

export interface InvariantReport {
  /** Jobs in the database. */
  jobs: number;
  /** Jobs a client created (CreateJob answered) that are missing from the database. */
  lost: string[];
  /** Jobs with a numbered event stored twice in one attempt, or one attempt run twice by executors. */
  doubled: string[];
  /** Jobs not in a final state (QUEUED, OFFERED, RUNNING, CANCELLING, RETRY_WAIT). */
  stuck: string[];
  /** Jobs with a gap in an attempt's numbered events, or a succeeded final attempt short of them. */
  missingEvents: string[];
  /** Jobs whose final record contradicts itself or its events (a success without its result event ...). */
  inconsistent: string[];
  byState: Record<string, number>;
  /** Each job that did not succeed, with its failure reason and error. */
  unsuccessful: string[];
  /** One line per problem found, for failure messages. */
  details: string[];
}

interface JobRecord {
  id: string;
  state: number;
  attempt: number;
  failure_reason: number;
  error: string;
  exit_code: number | null;
  result: string | null;
}

const finals = new Set<number>([JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED]);

/**
 * Reads the database at the end of a fault run and checks tether's promise:
 * every acknowledged job is there and ended in one final state that agrees
 * with its events; in every attempt the numbered events ({"seq": n}) stored
 * are 0, 1, 2 ... once each, in order, and a succeeded final attempt holds
 * all `expectedSeq` of them; no attempt was run by two executors (`runs`,
 * from the executor's ledger).
 */
export function checkInvariants(
  dbPath: string,
  options: { created: readonly string[]; expectedSeq: number; runs?: readonly LedgerRun[] },
): InvariantReport {
  const db = new SQLite(dbPath, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare("SELECT id, state, attempt, failure_reason, error, exit_code, result FROM jobs")
      .all() as JobRecord[];
    const byId = new Map(rows.map((r) => [r.id, r]));
    const events = db.prepare("SELECT attempt, data FROM job_events WHERE job_id = ? ORDER BY event_offset");
    const report: InvariantReport = {
      jobs: rows.length,
      lost: options.created.filter((id) => !byId.has(id)),
      doubled: [],
      stuck: rows.filter((r) => !finals.has(r.state)).map((r) => r.id),
      missingEvents: [],
      inconsistent: [],
      byState: {},
      unsuccessful: [],
      details: [],
    };
    const flag = (list: string[], id: string, why: string) => {
      if (!list.includes(id)) list.push(id);
      report.details.push(`job ${id}: ${why}`);
    };
    for (const id of report.lost) report.details.push(`job ${id}: created, but not in the database`);
    for (const id of report.stuck) report.details.push(`job ${id}: still ${JobState[byId.get(id)!.state]}`);
    for (const [key, n] of countBy(options.runs ?? [], (r) => `${r.jobId} ${r.attempt}`)) {
      const [id, attempt] = key.split(" ");
      if (n > 1) flag(report.doubled, id!, `attempt ${attempt} was run by ${n} executor processes`);
    }
    for (const row of rows) {
      const name = JobState[row.state] ?? String(row.state);
      // A job that did not succeed says why, so that a run that expected only successes can be read.
      if (row.state !== JobState.SUCCEEDED) {
        report.unsuccessful.push(`job ${row.id}: ${name} ${FailureReason[row.failure_reason]} at attempt ${row.attempt}: ${row.error}`);
      }
      report.byState[name] = (report.byState[name] ?? 0) + 1;
      const stored = (events.all(row.id) as { attempt: number; data: string }[])
        .map((e) => ({ attempt: e.attempt, data: JSON.parse(e.data) as Record<string, unknown> }));
      for (let attempt = 1; attempt <= row.attempt; attempt++) {
        const seqs = stored.filter((e) => e.attempt === attempt && typeof e.data.seq === "number")
          .map((e) => e.data.seq as number);
        const twice = seqs.filter((s, i) => seqs.indexOf(s) !== i);
        if (twice.length > 0) flag(report.doubled, row.id, `attempt ${attempt} stored seq ${twice.join(", ")} twice`);
        else if (seqs.some((s, i) => s !== i)) {
          flag(report.missingEvents, row.id, `attempt ${attempt} stored seqs [${seqs.join(", ")}]: a gap`);
        } else if (attempt === row.attempt && row.state === JobState.SUCCEEDED && seqs.length !== options.expectedSeq) {
          flag(report.missingEvents, row.id, `succeeded with ${seqs.length} of ${options.expectedSeq} seqs`);
        }
      }
      if (stored.some((e) => e.attempt > row.attempt || e.attempt < 1)) {
        flag(report.inconsistent, row.id, `events of an attempt other than 1..${row.attempt}`);
      }
      const why = contradiction(row, stored.filter((e) => e.attempt === row.attempt).map((e) => e.data));
      if (why) flag(report.inconsistent, row.id, why);
    }
    return report;
  } finally {
    db.close();
  }
}

/** What is wrong with a final record, given its final attempt's events; undefined when it holds together. */
function contradiction(row: JobRecord, events: Record<string, unknown>[]): string | undefined {
  const reason = FailureReason[row.failure_reason];
  const last = events.at(-1);
  const finishedWork = row.exit_code === 0 && last?.type === "result" && last.is_error !== true;
  switch (row.state) {
    case JobState.SUCCEEDED:
      if (row.failure_reason !== FailureReason.UNSPECIFIED) return `SUCCEEDED with failure reason ${reason}`;
      if (row.exit_code !== 0) return `SUCCEEDED with exit code ${row.exit_code}`;
      if (row.result === null) return "SUCCEEDED without a result";
      if (last?.type !== "result") return "SUCCEEDED, but its last event is not the result";
      return undefined;
    case JobState.FAILED:
      if (row.failure_reason === FailureReason.UNSPECIFIED) return "FAILED without a failure reason";
      if (finishedWork) {
        return `FAILED ${reason}, but its executor finished the work (exit 0 after a successful result)`;
      }
      return undefined;
    case JobState.CANCELLED:
      if (row.failure_reason !== FailureReason.CANCELLED) return `CANCELLED with failure reason ${reason}`;
      if (finishedWork) return "CANCELLED, but its executor finished the work (exit 0 after a successful result)";
      return undefined;
    default:
      return undefined;
  }
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}
