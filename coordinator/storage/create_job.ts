import type { Insertable } from "kysely";
import { JobState, JobType } from "../../gen/tether/v1/job_pb.ts";
import { SessionState } from "../../gen/tether/v1/session_pb.ts";
import { alreadyExists, failedPrecondition, invalidArgument, notFound } from "../domain/errors.ts";
import { newId } from "../domain/ids.ts";
import { isTerminal } from "../domain/job_states.ts";
import type { Db } from "./db/open_database.ts";
import type { JobRow, SessionRow } from "./db/rows.ts";
import { isPostgres, isUniqueViolation } from "./db/dialect.ts";
import type { JobLabelTable, JobTable } from "./db/schema.ts";
import { inTransaction, type Tx } from "./db/transaction.ts";
import { type Written, written } from "./changes.ts";

/** A validated CreateJob request, with defaults applied. */
export interface NewJob {
  type: JobType;
  executor: string;
  parameters: object;
  projectDir: string;
  sessionName: string | null;
  sessionId: string | null;
  labels: Record<string, string>;
  metadata: Record<string, string>;
  targetLauncherId: string | null;
  targetHostname: string | null;
  priority: number;
  concurrencyKey: string | null;
  concurrencyLimit: number;
  idempotencyKey: string | null;
  requestDigest: string;
  maxAttempts: number;
  timeoutMs: number | null;
  matchTimeoutMs: number;
  retryJobFailures: boolean;
}

export interface CreatedJob {
  job: JobRow;
  existing: boolean;
}

/**
 * Inserts a queued job (and, for START_SESSION, its session) in one
 * transaction. A repeated idempotency key returns the first job instead.
 * `committed` hears of the result as soon as it is committed, before it is
 * durable (see TransactionOptions.committed); the promise settles once it is.
 */
export async function createJob(
  db: Db,
  input: NewJob,
  now: number,
  committed?: (created: Written<CreatedJob>) => void,
): Promise<Written<CreatedJob>> {
  try {
    return await insertJob(db, input, now, committed);
  } catch (error) {
    // Another coordinator inserted the same idempotency key or session name first: the second try
    // finds its row and answers as for any repeat.
    if (!isUniqueViolation(error)) throw error;
    return await insertJob(db, input, now, committed);
  }
}

/** A new job is a change; the first job of a repeated idempotency key is not. */
function created(job: JobRow, existing: boolean): Written<CreatedJob> {
  return written({ job, existing }, existing ? {} : { jobs: [job] });
}

async function insertJob(
  db: Db,
  input: NewJob,
  now: number,
  committed: ((created: Written<CreatedJob>) => void) | undefined,
): Promise<Written<CreatedJob>> {
  const command = await insertCommandInOneStatement(db, input, now);
  if (command) {
    const result = created(command, false);
    committed?.(result);
    return result;
  }
  return inTransaction(db, async (tx): Promise<Written<CreatedJob>> => {
    if (input.idempotencyKey !== null) {
      const first = await tx.selectFrom("jobs").selectAll().where("idempotency_key", "=", input.idempotencyKey)
        .executeTakeFirst();
      if (first) {
        if (first.request_digest !== input.requestDigest) {
          throw alreadyExists(
            `idempotencyKey "${input.idempotencyKey}" was already used by job "${first.id}" for a different ` +
              "request; use a new key for a new job",
          );
        }
        return created(first, true);
      }
    }
    const jobId = newId("job", now);
    let sessionId = input.sessionId;
    let projectDir = input.projectDir;
    if (input.type === JobType.START_SESSION) {
      sessionId = newId("ses", now);
      await insertSession(tx, input, { sessionId, jobId }, now);
    } else if (input.type === JobType.RESUME_SESSION) {
      const session = await tx.selectFrom("sessions").selectAll().where("id", "=", sessionId!).executeTakeFirst();
      if (!session) throw notFound(`session "${sessionId}" not found; start one with JOB_TYPE_START_SESSION`);
      projectDir = await checkResumable(tx, session, input);
    }
    const job = await tx.insertInto("jobs").values(jobValues(input, { jobId, sessionId, projectDir }, now))
      .returningAll().executeTakeFirstOrThrow();
    const labels = jobLabels(input, jobId);
    if (labels.length > 0) await tx.insertInto("job_labels").values(labels).execute();
    return created(job, false);
  }, { committed });
}

/** The session a START_SESSION job opens; its name must be free. */
async function insertSession(tx: Tx, input: NewJob, ids: { sessionId: string; jobId: string }, now: number) {
  if (input.sessionName !== null) {
    const taken = await tx.selectFrom("sessions").select("id").where("name", "=", input.sessionName)
      .executeTakeFirst();
    if (taken) {
      throw alreadyExists(
        `sessionName "${input.sessionName}" is taken by session "${taken.id}"; resume it with ` +
          "JOB_TYPE_RESUME_SESSION and sessionId, or pick another name",
      );
    }
  }
  await tx.insertInto("sessions").values({
    id: ids.sessionId,
    name: input.sessionName,
    executor: input.executor,
    executor_session_id: null,
    launcher_id: null,
    hostname: null,
    project_dir: input.projectDir,
    state: SessionState.PENDING,
    last_job_id: ids.jobId,
    result: null,
    create_time: now,
    update_time: now,
  }).execute();
}

/**
 * The fast path of a plain command without an idempotency key, on
 * PostgreSQL: one statement (one round trip, where a transaction takes
 * three), the job and its labels inserted together or not at all. Nothing
 * (the transaction above) on SQLite and for every other job.
 */
async function insertCommandInOneStatement(db: Db, input: NewJob, now: number): Promise<JobRow | undefined> {
  if (!isPostgres(db) || input.type !== JobType.COMMAND || input.idempotencyKey !== null) return undefined;
  const jobId = newId("job", now);
  const values = jobValues(input, { jobId, sessionId: input.sessionId, projectDir: input.projectDir }, now);
  const labels = jobLabels(input, jobId);
  return labels.length === 0
    ? await db.insertInto("jobs").values(values).returningAll().executeTakeFirstOrThrow()
    : await db.with("job", (qb) => qb.insertInto("jobs").values(values).returningAll())
      .with("labels", (qb) => qb.insertInto("job_labels").values(labels).returning("job_id"))
      .selectFrom("job").selectAll().executeTakeFirstOrThrow();
}

/** The row of a new queued job. */
function jobValues(
  input: NewJob,
  ids: { jobId: string; sessionId: string | null; projectDir: string },
  now: number,
): Insertable<JobTable> {
  const { jobId, sessionId, projectDir } = ids;
  return {
    id: jobId,
    type: input.type,
    state: JobState.QUEUED,
    executor: input.executor,
    parameters: JSON.stringify(input.parameters),
    project_dir: projectDir,
    session_id: sessionId,
    labels: JSON.stringify(input.labels),
    metadata: JSON.stringify(input.metadata),
    priority: input.priority,
    attempt: 0,
    max_attempts: input.maxAttempts,
    retry_job_failures: input.retryJobFailures ? 1 : 0,
    launcher_id: null,
    target_launcher_id: input.targetLauncherId,
    target_hostname: input.targetHostname,
    concurrency_key: input.concurrencyKey,
    concurrency_limit: input.concurrencyLimit,
    idempotency_key: input.idempotencyKey,
    request_digest: input.requestDigest,
    timeout_ms: input.timeoutMs,
    match_timeout_ms: input.matchTimeoutMs,
    epoch: 0,
    offer_poll_id: null,
    deadline_at: now + input.matchTimeoutMs,
    stop_reason: null,
    result: null,
    exit_code: null,
    failure_reason: 0,
    error: "",
    next_event_offset: 0,
    event_bytes: 0,
    create_time: now,
    update_time: now,
    start_time: null,
    finish_time: null,
  };
}

/** A job's labels as job_labels rows, "key=value" each. */
function jobLabels(input: NewJob, jobId: string): Insertable<JobLabelTable>[] {
  return Object.entries(input.labels).map(([k, v]) => ({ job_id: jobId, label: `${k}=${v}` }));
}

/** A resume must match its session and find something to resume. Returns the session's project dir. */
async function checkResumable(
  tx: Tx,
  session: SessionRow,
  input: NewJob,
): Promise<string> {
  if (input.executor !== session.executor) {
    throw invalidArgument(
      `executor "${input.executor}" does not match session "${session.id}", which runs on "${session.executor}"`,
    );
  }
  if (input.projectDir !== "" && input.projectDir !== session.project_dir) {
    throw invalidArgument(
      `projectDir "${input.projectDir}" does not match session "${session.id}", which runs in ` +
        `"${session.project_dir}"; leave projectDir empty for a resume`,
    );
  }
  if (session.executor_session_id === null) {
    const turns = await tx.selectFrom("jobs").select("state").where("session_id", "=", session.id).execute();
    if (turns.every((t) => isTerminal(t.state))) {
      throw failedPrecondition(
        `session "${session.id}" has nothing to resume: no turn of it reported an executor session id`,
      );
    }
  }
  return session.project_dir;
}
