import { type Kysely, type Migration, type MigrationProvider, sql } from "kysely";
import { isPostgres } from "./dialect.ts";

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
      await sql`CREATE INDEX jobs_queue ON jobs (priority DESC, seq) WHERE state = 1`.execute(db);
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
};

/** Serves the migrations above to Kysely's Migrator. */
export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
