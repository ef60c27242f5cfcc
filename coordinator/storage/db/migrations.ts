import { randomBytes } from "node:crypto";
import { type Kysely, type Migration, type MigrationProvider, sql } from "kysely";
import { JobState, JobType } from "../../../gen/tether/v1/job_pb.ts";
import { isPostgres } from "./dialect.ts";

/*
 * Job states and types in the SQL below come from the generated enums, written into the text as
 * literals (sql.lit): DDL and a $$ function body take no parameters. This leaves the SQL of migrations
 * that have shipped unchanged, because proto enum numbers never change (a number, once used, stays
 * with its name); test/coordinator/migration_sql.test.ts holds the texts they have always sent.
 */
const { QUEUED, OFFERED, RUNNING, SUCCEEDED, FAILED, CANCELLING, CANCELLED, RETRY_WAIT } = JobState;
const { RESUME_SESSION } = JobType;

/** The schema's history. Append; never edit a migration that has shipped. */
const migrations: Record<string, Migration> = {
  "0001_initial": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("jobs")
        .addColumn("seq", isPostgres(db) ? "bigint" : "integer", (c) =>
          isPostgres(db) ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement())
        .addColumn("id", "text", (c) => c.notNull().unique())
        .addColumn("type", "integer", (c) => c.notNull())
        .addColumn("state", "integer", (c) => c.notNull())
        .addColumn("executor", "text", (c) => c.notNull())
        .addColumn("parameters", "text", (c) => c.notNull())
        .addColumn("project_dir", "text", (c) => c.notNull())
        .addColumn("session_id", "text")
        .addColumn("labels", "text", (c) => c.notNull())
        .addColumn("metadata", "text", (c) => c.notNull())
        .addColumn("priority", "integer", (c) => c.notNull())
        .addColumn("attempt", "integer", (c) => c.notNull())
        .addColumn("max_attempts", "integer", (c) => c.notNull())
        .addColumn("retry_job_failures", "integer", (c) => c.notNull())
        .addColumn("launcher_id", "text")
        .addColumn("target_launcher_id", "text")
        .addColumn("target_hostname", "text")
        .addColumn("concurrency_key", "text")
        .addColumn("concurrency_limit", "integer", (c) => c.notNull())
        .addColumn("idempotency_key", "text", (c) => c.unique())
        .addColumn("request_digest", "text", (c) => c.notNull())
        .addColumn("timeout_ms", "integer")
        .addColumn("match_timeout_ms", "integer", (c) => c.notNull())
        .addColumn("epoch", "integer", (c) => c.notNull())
        .addColumn("offer_poll_id", "text")
        .addColumn("deadline_at", "bigint")
        .addColumn("stop_reason", "integer")
        .addColumn("result", "text")
        .addColumn("exit_code", "integer")
        .addColumn("failure_reason", "integer", (c) => c.notNull())
        .addColumn("error", "text", (c) => c.notNull())
        .addColumn("next_event_offset", "integer", (c) => c.notNull())
        .addColumn("event_bytes", "integer", (c) => c.notNull())
        .addColumn("create_time", "bigint", (c) => c.notNull())
        .addColumn("update_time", "bigint", (c) => c.notNull())
        .addColumn("start_time", "bigint")
        .addColumn("finish_time", "bigint")
        .execute();
      // The claim walks this index in dispatch order and touches queued rows only.
      await sql`CREATE INDEX jobs_queue ON jobs (priority DESC, seq) WHERE state = ${sql.lit(QUEUED)}`.execute(db);
      await sql`CREATE INDEX jobs_deadline ON jobs (deadline_at) WHERE deadline_at IS NOT NULL`.execute(db);
      await db.schema.createIndex("jobs_launcher").on("jobs").columns(["launcher_id", "state"]).execute();
      await db.schema.createIndex("jobs_session").on("jobs").columns(["session_id", "seq"]).execute();
      await db.schema.createIndex("jobs_concurrency").on("jobs").columns(["concurrency_key", "state"]).execute();
      await db.schema.createIndex("jobs_state").on("jobs").columns(["state", "seq"]).execute();

      await db.schema
        .createTable("job_labels")
        .addColumn("job_id", "text", (c) => c.notNull())
        .addColumn("label", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("job_labels_pk", ["job_id", "label"])
        .execute();

      await db.schema
        .createTable("job_events")
        .addColumn("job_id", "text", (c) => c.notNull())
        .addColumn("event_offset", "integer", (c) => c.notNull())
        .addColumn("attempt", "integer", (c) => c.notNull())
        .addColumn("time", "bigint", (c) => c.notNull())
        .addColumn("data", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("job_events_pk", ["job_id", "event_offset"])
        .execute();

      await db.schema
        .createTable("sessions")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.unique())
        .addColumn("executor", "text", (c) => c.notNull())
        .addColumn("executor_session_id", "text")
        .addColumn("launcher_id", "text")
        .addColumn("hostname", "text")
        .addColumn("project_dir", "text", (c) => c.notNull())
        .addColumn("state", "integer", (c) => c.notNull())
        .addColumn("last_job_id", "text", (c) => c.notNull())
        .addColumn("result", "text")
        .addColumn("create_time", "bigint", (c) => c.notNull())
        .addColumn("update_time", "bigint", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("sessions_created").on("sessions").columns(["create_time", "id"]).execute();

      await db.schema
        .createTable("launchers")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("hostname", "text", (c) => c.notNull())
        .addColumn("labels", "text", (c) => c.notNull())
        .addColumn("executors", "text", (c) => c.notNull())
        .addColumn("max_concurrency", "integer", (c) => c.notNull())
        .addColumn("version", "text", (c) => c.notNull())
        .addColumn("state", "integer", (c) => c.notNull())
        .addColumn("instance_id", "text", (c) => c.notNull())
        .addColumn("register_time", "bigint", (c) => c.notNull())
        .addColumn("lease_expires_at", "bigint", (c) => c.notNull())
        .addColumn("update_time", "bigint", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("launchers_lease").on("launchers").columns(["state", "lease_expires_at"]).execute();
    },
  },
  "0002_claim_function": {
    // PostgreSQL only: the claim of coordinator/storage/claim_jobs.ts as one call, so one round trip
    // instead of BEGIN, lock, UPDATE, COMMIT. Being VOLATILE plpgsql, the UPDATE runs with a snapshot
    // taken after the lock is granted, so it sees every claim committed before. The UPDATE is
    // claimStatement's, with the launcher's traits as arrays, and its states and types from the generated
    // enums (see the top of this file). A change to the claim changes both, the function in a new migration.
    async up(db: Kysely<unknown>) {
      if (!isPostgres(db)) return;
      await sql`
        CREATE FUNCTION tether_claim_jobs(
          p_launcher_id text, p_hostname text, p_executors text[], p_labels text[],
          p_poll_id text, p_limit integer, p_deadline_at bigint, p_now bigint
        ) RETURNS SETOF jobs LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
          -- Claims take turns across coordinators ("tether" in ASCII), so that two never both see a
          -- concurrency slot or a session turn as free; SKIP LOCKED passes over rows being changed.
          PERFORM pg_advisory_xact_lock(127979093517682);
          RETURN QUERY
          UPDATE jobs SET
            state = ${sql.lit(OFFERED)}, launcher_id = p_launcher_id, epoch = epoch + 1, offer_poll_id = p_poll_id,
            deadline_at = p_deadline_at, update_time = p_now
          WHERE seq IN (
            SELECT j.seq FROM jobs j
            WHERE j.state = ${sql.lit(QUEUED)}
              AND j.executor = ANY (p_executors)
              AND (j.target_launcher_id IS NULL OR j.target_launcher_id = p_launcher_id)
              AND (j.target_hostname IS NULL OR j.target_hostname = p_hostname)
              AND NOT EXISTS (SELECT 1 FROM job_labels jl WHERE jl.job_id = j.id AND jl.label <> ALL (p_labels))
              AND (j.type <> ${sql.lit(RESUME_SESSION)} OR EXISTS (
                SELECT 1 FROM sessions s WHERE s.id = j.session_id AND s.launcher_id = p_launcher_id))
              AND (j.session_id IS NULL OR NOT EXISTS (
                SELECT 1 FROM jobs p WHERE p.session_id = j.session_id AND p.seq < j.seq
                  AND p.state NOT IN (${sql.lit(SUCCEEDED)}, ${sql.lit(FAILED)}, ${sql.lit(CANCELLED)})))
              AND (j.concurrency_key IS NULL OR (
                (SELECT COUNT(*) FROM jobs r WHERE r.concurrency_key = j.concurrency_key
                  AND r.state IN (${sql.lit(OFFERED)}, ${sql.lit(RUNNING)}, ${sql.lit(CANCELLING)})) < j.concurrency_limit
                AND NOT EXISTS (SELECT 1 FROM jobs e WHERE e.concurrency_key = j.concurrency_key
                  AND e.state IN (${sql.lit(QUEUED)}, ${sql.lit(RETRY_WAIT)})
                  AND (e.priority > j.priority OR (e.priority = j.priority AND e.seq < j.seq)))))
            ORDER BY j.priority DESC, j.seq
            LIMIT p_limit
            FOR UPDATE SKIP LOCKED
          )
          RETURNING *;
        END
        $$`.execute(db);
    },
  },
  "0003_credentials": {
    // Bearer tokens (only their SHA-256 is stored), each launcher's current credential (likewise), and
    // the key that fencing tokens are signed with, made once per database so that every replica shares it.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("api_tokens")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("role", "integer", (c) => c.notNull())
        .addColumn("secret_hash", "text", (c) => c.notNull().unique())
        .addColumn("create_time", "bigint", (c) => c.notNull())
        .addColumn("expire_time", "bigint")
        .addColumn("revoke_time", "bigint")
        .execute();
      await sql`CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens (name) WHERE revoke_time IS NULL`.execute(db);
      await db.schema.alterTable("launchers")
        .addColumn("credential_hash", "text", (c) => c.notNull().defaultTo("")).execute();
      await db.schema.alterTable("launchers").addColumn("registered_by", "text").execute();
      await db.schema.alterTable("launchers")
        .addColumn("previous_credential_hash", "text", (c) => c.notNull().defaultTo("")).execute();
      await db.schema.alterTable("launchers")
        .addColumn("reserved_slots", "integer", (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable("launchers").addColumn("reserved_until", "bigint").execute();
      await db.schema
        .createTable("coordinator_keys")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("secret", "text", (c) => c.notNull())
        .execute();
      await sql`INSERT INTO coordinator_keys (name, secret) VALUES ('fencing', ${randomBytes(32).toString("base64url")})`
        .execute(db);
      if (!isPostgres(db)) return;
      // A replica hears of a takeover through NOTIFY, so its cached launcher row may still accept the replaced
      // credential for a moment: the claim itself takes nothing unless the credential is still the launcher's.
      await sql`
        CREATE FUNCTION tether_claim_jobs_as(
          p_credential_hash text, p_launcher_id text, p_hostname text, p_executors text[], p_labels text[],
          p_poll_id text, p_limit integer, p_deadline_at bigint, p_now bigint
        ) RETURNS SETOF jobs LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
          IF NOT EXISTS (SELECT 1 FROM launchers WHERE id = p_launcher_id AND credential_hash = p_credential_hash) THEN
            RETURN;
          END IF;
          RETURN QUERY SELECT * FROM tether_claim_jobs(
            p_launcher_id, p_hostname, p_executors, p_labels, p_poll_id, p_limit, p_deadline_at, p_now);
        END
        $$`.execute(db);
    },
  },
  "0004_retention": {
    // Retention deletes finished jobs by their finish time (set once a job ends) and sessions by their last change.
    async up(db: Kysely<unknown>) {
      await sql`CREATE INDEX jobs_finished ON jobs (finish_time) WHERE finish_time IS NOT NULL`.execute(db);
      await db.schema.createIndex("sessions_updated").on("sessions").columns(["update_time"]).execute();
    },
  },
};


/** Serves the migrations above to Kysely's Migrator. */
export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
