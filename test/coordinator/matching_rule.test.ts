import fc from "fast-check";
import { type Insertable, sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobState, JobType } from "../../gen/tether/v1/job_pb.ts";
import { LauncherState } from "../../gen/tether/v1/launcher_pb.ts";
import { SessionState } from "../../gen/tether/v1/session_pb.ts";
import { launcherId } from "../../coordinator/domain/ids.ts";
import { launcherMatches } from "../../coordinator/domain/matching.ts";
import { claimStatement } from "../../coordinator/storage/claim_jobs.ts";
import { type Db, openDatabase } from "../../coordinator/storage/db/open_database.ts";
import type { JobRow, LauncherRow } from "../../coordinator/storage/db/rows.ts";
import type { JobTable, SessionTable } from "../../coordinator/storage/db/schema.ts";
import type { Tx } from "../../coordinator/storage/db/transaction.ts";
import { jobRequirements, launcherTraits } from "../../coordinator/storage/traits.ts";
import { freshDatabase, type TestDatabase, testBackend } from "../support/test_database.ts";
import { rolledBack } from "../support/rolled_back.ts";

/*
 * Which launcher may run a job is written three times: launcherMatches (the in-memory handoff and the
 * NO_MATCHING_LAUNCHER expiry), claimStatement's SQL (the claim on SQLite) and the PL/pgSQL function
 * tether_claim_jobs (the claim on PostgreSQL). On generated fleets and queues, every copy must offer
 * each launcher exactly the jobs the others do. The SQLite claim is checked on every run; in the
 * postgres project the PostgreSQL function (through tether_claim_jobs_as, as the coordinator calls it)
 * and claimStatement's postgres text are checked too, on the same cases.
 *
 * The claim also applies rules that are not matching: the QUEUED state, the limit, concurrency keys,
 * a session's turn order, the poll's credential. The cases keep them out of the way, so that only
 * the matching rule decides what is offered: every job is queued and has no concurrency key, each
 * session has exactly one job (no earlier turn to wait for), the limit is the queue's length, every
 * launcher polls with its own current credential, and each launcher's claim is rolled back (to a
 * savepoint), so that every launcher sees the whole queue. Each case runs in a transaction of its own,
 * rolled back at its end, so that cases never see each other's rows.
 */

const now = 1_800_000_000_000;
const credentialHash = "hash-of-the-credential";

// Small pools, so that executors, labels, hosts and ids collide often.
const hostnames = ["h1", "h2", "h3"];
const names = ["a", "b"];
const executors = ["echo", "claude-code", "codex"];
const labelKeys = ["gpu", "os", "example.com/zone"];
// "" and "a=b" are valid values too: job_labels holds "key=value", and keys never hold "=".
const labelValues = ["1", "linux", "", "a=b"];
/** Every launcher id a case may use, some of them for launchers that are not in the case. */
const allLauncherIds = hostnames.flatMap((h) => names.map((n) => launcherId(h, n)));

const labels = (maxKeys: number) =>
  fc.dictionary(fc.constantFrom(...labelKeys), fc.constantFrom(...labelValues), { maxKeys });
/** null more often than not: most jobs name no launcher and no host. */
const sometimes = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: arb });

interface GenLauncher {
  hostname: string;
  name: string;
  executors: string[];
  labels: Record<string, string>;
}

type GenKind =
  | { type: JobType.COMMAND }
  | { type: JobType.START_SESSION }
  /** A resume of a session held by this launcher (one of the case's or not), or by none yet. */
  | { type: JobType.RESUME_SESSION; holder: string | null };

interface GenJob {
  executor: string;
  labels: Record<string, string>;
  targetLauncherId: string | null;
  targetHostname: string | null;
  kind: GenKind;
}

const launcherArb: fc.Arbitrary<GenLauncher> = fc.record({
  hostname: fc.constantFrom(...hostnames),
  name: fc.constantFrom(...names),
  executors: fc.subarray(executors, { minLength: 1 }),
  labels: labels(3),
});

/** The labels of `from` whose keys are among `keys`. */
function pick(from: Record<string, string>, keys: string[]): Record<string, string> {
  return Object.fromEntries(keys.filter((k) => Object.hasOwn(from, k)).map((k) => [k, from[k]!]));
}

/**
 * Jobs for a fleet. Drawn at random alone, few jobs would match anyone, so most draw on the fleet:
 * an executor some launcher offers, some labels of a launcher (with or without a label of their own),
 * a target or session holder among the fleet's launchers (or not: one not in the case).
 */
function jobArb(launchers: GenLauncher[]): fc.Arbitrary<GenJob> {
  const launcher = fc.constantFrom(...launchers);
  const someLauncherId = fc.oneof(
    { weight: 3, arbitrary: launcher.map((l) => launcherId(l.hostname, l.name)) },
    { weight: 1, arbitrary: fc.constantFrom(...allLauncherIds) },
  );
  return fc.record({
    executor: fc.oneof(fc.constantFrom(...executors), launcher.chain((l) => fc.constantFrom(...l.executors))),
    labels: fc.oneof(
      labels(2),
      fc.tuple(launcher, fc.subarray(labelKeys)).map(([l, keys]) => pick(l.labels, keys)),
      fc.tuple(launcher, fc.subarray(labelKeys), labels(1)).map(([l, keys, more]) => ({ ...pick(l.labels, keys), ...more })),
    ),
    targetLauncherId: sometimes(someLauncherId),
    targetHostname: sometimes(fc.constantFrom(...hostnames)),
    kind: fc.oneof(
      fc.constant({ type: JobType.COMMAND as const }),
      fc.constant({ type: JobType.START_SESSION as const }),
      fc.record({
        type: fc.constant(JobType.RESUME_SESSION as const),
        holder: fc.option(someLauncherId, { nil: null, freq: 4 }),
      }),
    ),
  });
}

/** A fleet of launchers (distinct ids, shared hosts, executors and labels) and a queue for it. */
const caseArb = fc.uniqueArray(launcherArb, { minLength: 1, maxLength: 5, selector: (l) => launcherId(l.hostname, l.name) })
  .chain((launchers) =>
    fc.record({ launchers: fc.constant(launchers), jobs: fc.array(jobArb(launchers), { minLength: 1, maxLength: 8 }) })
  );

function launcherRow(l: GenLauncher): LauncherRow {
  return {
    id: launcherId(l.hostname, l.name), name: l.name, hostname: l.hostname,
    labels: JSON.stringify(l.labels), executors: JSON.stringify(l.executors),
    max_concurrency: 8, version: "t", state: LauncherState.ONLINE, instance_id: "i",
    register_time: now, lease_expires_at: now + 60_000, update_time: now,
    credential_hash: credentialHash, registered_by: null, previous_credential_hash: "",
    reserved_slots: 0, reserved_until: null,
  };
}

/** A queued job row as createJob writes it: no concurrency key; its own session for a session job. */
function jobValues(j: GenJob, i: number): Insertable<JobTable> {
  return {
    id: `job_${i}`, type: j.kind.type, state: JobState.QUEUED, executor: j.executor, parameters: "{}",
    project_dir: "/tmp", session_id: j.kind.type === JobType.COMMAND ? null : `ses_${i}`,
    labels: JSON.stringify(j.labels), metadata: "{}", priority: 0, attempt: 0, max_attempts: 3,
    retry_job_failures: 0, launcher_id: null, target_launcher_id: j.targetLauncherId,
    target_hostname: j.targetHostname, concurrency_key: null, concurrency_limit: 1, idempotency_key: null,
    request_digest: "d", timeout_ms: null, match_timeout_ms: 300_000, epoch: 0, offer_poll_id: null,
    deadline_at: now + 300_000, stop_reason: null, result: null, exit_code: null, failure_reason: 0,
    error: "", next_event_offset: 0, event_bytes: 0, create_time: now, update_time: now,
    start_time: null, finish_time: null,
  };
}

function sessionValues(j: GenJob, i: number): Insertable<SessionTable> | null {
  if (j.kind.type === JobType.COMMAND) return null;
  const holder = j.kind.type === JobType.RESUME_SESSION ? j.kind.holder : null;
  return {
    id: `ses_${i}`, name: null, executor: j.executor, executor_session_id: holder === null ? null : "x",
    launcher_id: holder, hostname: holder === null ? null : "h1", project_dir: "/tmp",
    state: holder === null ? SessionState.PENDING : SessionState.IDLE, last_job_id: `job_${i}`, result: null,
    create_time: now, update_time: now,
  };
}


/** Runs `fn` inside the transaction `tx` and then undoes what it did, so that every claim sees the same queue. */
async function undone<T>(tx: Tx, fn: () => Promise<T>): Promise<T> {
  await sql`SAVEPOINT claim`.execute(tx);
  try {
    return await fn();
  } finally {
    await sql`ROLLBACK TO SAVEPOINT claim`.execute(tx);
  }
}

/** One copy of the rule in SQL: the ids of the jobs it offers `launcher`, out of a queue of `limit`. */
interface SqlCopy {
  name: string;
  claim(tx: Tx, launcher: LauncherRow, limit: number): Promise<string[]>;
}

/** A database with the case's rows in it, and the SQL copies of the rule that run on it. */
interface Backend {
  db: Db;
  copies: SqlCopy[];
}

function statementCopy(dialect: "sqlite" | "postgres"): SqlCopy {
  return {
    name: `claimStatement (${dialect})`,
    claim: (tx, launcher, limit) => undone(tx, async () =>
      (await claimStatement({ launcher, pollId: "p", limit, acceptTimeoutMs: 15_000, credentialHash }, now, dialect)
        .execute(tx)).rows.map((r) => r.id)),
  };
}

/** The PL/pgSQL copy, called as claim_jobs.ts calls it: the launcher's traits as arrays, labels "key=value". */
const functionCopy: SqlCopy = {
  name: "tether_claim_jobs_as",
  claim: (tx, launcher, limit) =>
    undone(tx, async () => {
      const traits = launcherTraits(launcher);
      const labelList = Object.entries(traits.labels).map(([k, v]) => `${k}=${v}`);
      const { rows } = await sql<JobRow>`
        SELECT * FROM tether_claim_jobs_as(${credentialHash}, ${launcher.id}, ${launcher.hostname},
          ${traits.executors}::text[], ${labelList}::text[], 'p', ${limit}::integer, ${now + 15_000}::bigint,
          ${now}::bigint)`.execute(tx);
      return rows.map((r) => r.id);
    }),
};

/** Inserts the case's launchers, sessions, jobs and job labels; returns the job rows. */
async function load(db: Tx, launchers: LauncherRow[], jobs: GenJob[]): Promise<JobRow[]> {
  await db.insertInto("launchers").values(launchers).execute();
  const sessions = jobs.map(sessionValues).filter((s) => s !== null);
  if (sessions.length > 0) await db.insertInto("sessions").values(sessions).execute();
  const rows = await db.insertInto("jobs").values(jobs.map(jobValues)).returningAll().execute();
  const jobLabels = jobs.flatMap((j, i) => Object.entries(j.labels).map(([k, v]) => ({ job_id: `job_${i}`, label: `${k}=${v}` })));
  if (jobLabels.length > 0) await db.insertInto("job_labels").values(jobLabels).execute();
  return rows;
}

describe(`the matching rule (SQLite${testBackend === "postgres" ? " and PostgreSQL" : ""})`, () => {
  let postgres: TestDatabase | null = null;
  const backends: Backend[] = [];
  beforeAll(async () => {
    // SQLite always (in memory: the claim is the same); PostgreSQL too when it is the test backend.
    const sqliteDb = await openDatabase(":memory:");
    backends.push({ db: sqliteDb, copies: [statementCopy("sqlite")] });
    if (testBackend === "postgres") {
      postgres = await freshDatabase();
      const db = await openDatabase(postgres.url);
      backends.push({ db, copies: [functionCopy, statementCopy("postgres")] });
    }
  });
  afterAll(async () => {
    for (const b of backends) await b.db.destroy();
    await postgres?.drop();
  });

  it("offers each launcher, in every SQL copy of the claim, exactly the jobs launcherMatches accepts", async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ launchers, jobs }) => {
        const launcherRows = launchers.map(launcherRow);
        for (const { db, copies } of backends) {
          await rolledBack(db, async (tx) => {
            const jobRows = await load(tx, launcherRows, jobs);
            // The requirements as the coordinator derives them from rows, session holders looked up.
            const requirements = await jobRequirements(tx, jobRows);
            for (const launcher of launcherRows) {
              const traits = launcherTraits(launcher);
              const expected = jobRows.filter((j) => launcherMatches(traits, requirements.get(j.id)!)).map((j) => j.id)
                .sort();
              for (const copy of copies) {
                const offered = (await copy.claim(tx, launcher, jobRows.length)).sort();
                expect(offered, `${copy.name} offering to ${launcher.id}`).toEqual(expected);
              }
            }
          });
        }
      }),
      { numRuns: 150 },
    );
  });
});
