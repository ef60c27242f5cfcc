import { sql } from "kysely";
import { JobState, JobType } from "../../gen/tether/v1/job_pb.ts";
import { isPostgres } from "./db/dialect.ts";
import type { Db } from "./db/open_database.ts";
import type { JobRow, LauncherRow } from "./db/rows.ts";
import { inTransaction } from "./db/transaction.ts";
import { type Written, written } from "./changes.ts";

export interface ClaimParams {
  launcher: LauncherRow;
  pollId: string;
  limit: number;
  acceptTimeoutMs: number;
  /**
   * The hash of the credential the poll came with. On PostgreSQL the claim
   * takes nothing unless it is still the launcher's: a replica that has not
   * yet heard of a takeover must not offer jobs to the replaced instance. (A
   * single coordinator drops its cached row at the takeover's commit, and
   * the poll checks it then.)
   */
  credentialHash: string;
}

const { QUEUED, OFFERED, RUNNING, CANCELLING, RETRY_WAIT, SUCCEEDED, FAILED, CANCELLED } = JobState;

/**
 * Offers up to `limit` queued jobs to one launcher, in one statement: the
 * highest priority first, FIFO inside a priority, among the jobs whose
 * executor, labels, target and session the launcher satisfies. A job with a
 * concurrency key is taken only when it heads its key's queue and the key
 * has a free slot; a session's turns run one at a time, in order. Each offer
 * bumps the job's epoch, which is its fencing token. On SQLite, INDEXED BY
 * pins the partial queue index, which yields rows in dispatch order: without
 * table statistics SQLite may otherwise pick the state index and sort.
 * The LIMIT is written into the SQL text on SQLite: with a bound LIMIT
 * SQLite evaluates every queued row before limiting (150 µs at 3,000
 * queued, against 6 µs), and each launcher asks for few distinct limits.
 */
export async function claimJobs(db: Db, params: ClaimParams, now: number): Promise<Written<JobRow[]>> {
  if (params.limit <= 0) return written([]);
  const rows = isPostgres(db)
    ? (await postgresClaim(params, now).execute(db)).rows
    // An offer needs no fsync of its own (see TransactionOptions.durable): it becomes durable with the
    // next durable commit, at the latest the launcher's AcceptJob.
    : await inTransaction(db, async (tx) => (await claimStatement(params, now, "sqlite").execute(tx)).rows, {
      durable: false,
    });
  const offers = rows.sort((a, b) => b.priority - a.priority || a.seq - b.seq);
  return written(offers, { offers });
}

/**
 * The claim on PostgreSQL, in one round trip: tether_claim_jobs_as
 * (migration 0003) checks the poll's credential, then tether_claim_jobs
 * (migration 0002_claim_function) takes the lock that claims share across coordinators,
 * so that two never both see a concurrency slot or a session turn as free,
 * and then runs claimStatement's UPDATE with a snapshot taken after the lock.
 * A change to claimStatement needs a migration that replaces the function;
 * test/coordinator/claim_on_postgres.test.ts checks that the two agree.
 */
function postgresClaim(params: ClaimParams, now: number) {
  const { launcher, pollId, limit, acceptTimeoutMs, credentialHash } = params;
  const executors = JSON.parse(launcher.executors) as string[];
  const labels = Object.entries(JSON.parse(launcher.labels) as Record<string, string>).map(([k, v]) => `${k}=${v}`);
  return sql<JobRow>`
    SELECT * FROM tether_claim_jobs_as(${credentialHash}, ${launcher.id}, ${launcher.hostname}, ${executors}::text[],
      ${labels}::text[], ${pollId}, ${limit}::integer, ${now + acceptTimeoutMs}::bigint, ${now}::bigint)`;
}

/** The claim, as one UPDATE ... RETURNING statement (exported so its query plan can be tested). */
export function claimStatement(params: ClaimParams, now: number, dialect: "sqlite" | "postgres") {
  const { launcher, pollId, limit, acceptTimeoutMs } = params;
  const executors = JSON.parse(launcher.executors) as string[];
  const labels = Object.entries(JSON.parse(launcher.labels) as Record<string, string>).map(([k, v]) => `${k}=${v}`);
  const labelsMatch = labels.length === 0
    ? sql`NOT EXISTS (SELECT 1 FROM job_labels jl WHERE jl.job_id = j.id)`
    : sql`NOT EXISTS (SELECT 1 FROM job_labels jl WHERE jl.job_id = j.id AND jl.label NOT IN (${sql.join(labels)}))`;
  return sql<JobRow>`
    UPDATE jobs SET
      state = ${OFFERED}, launcher_id = ${launcher.id}, epoch = epoch + 1, offer_poll_id = ${pollId},
      deadline_at = ${now + acceptTimeoutMs}, update_time = ${now}
    WHERE seq IN (
      SELECT j.seq FROM jobs j ${dialect === "sqlite" ? sql`INDEXED BY jobs_queue` : sql``}
      WHERE j.state = ${sql.lit(QUEUED)}
        AND j.executor IN (${sql.join(executors)})
        AND (j.target_launcher_id IS NULL OR j.target_launcher_id = ${launcher.id})
        AND (j.target_hostname IS NULL OR j.target_hostname = ${launcher.hostname})
        AND ${labelsMatch}
        AND (j.type <> ${JobType.RESUME_SESSION} OR EXISTS (
          SELECT 1 FROM sessions s WHERE s.id = j.session_id AND s.launcher_id = ${launcher.id}))
        AND (j.session_id IS NULL OR NOT EXISTS (
          SELECT 1 FROM jobs p WHERE p.session_id = j.session_id AND p.seq < j.seq
            AND p.state NOT IN (${SUCCEEDED}, ${FAILED}, ${CANCELLED})))
        AND (j.concurrency_key IS NULL OR (
          (SELECT COUNT(*) FROM jobs r WHERE r.concurrency_key = j.concurrency_key
            AND r.state IN (${OFFERED}, ${RUNNING}, ${CANCELLING})) < j.concurrency_limit
          AND NOT EXISTS (SELECT 1 FROM jobs e WHERE e.concurrency_key = j.concurrency_key
            AND e.state IN (${QUEUED}, ${RETRY_WAIT})
            AND (e.priority > j.priority OR (e.priority = j.priority AND e.seq < j.seq)))))
      ORDER BY j.priority DESC, j.seq
      LIMIT ${dialect === "sqlite" ? sql.lit(Math.trunc(limit)) : limit}
      ${dialect === "postgres" ? sql`FOR UPDATE SKIP LOCKED` : sql``}
    )
    RETURNING *`;
}
