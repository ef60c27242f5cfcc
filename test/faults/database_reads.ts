import SQLite from "better-sqlite3";
import { JobState } from "../../gen/tether/v1/job_pb.ts";

// Reads of the coordinator's own data, straight from its SQLite file (WAL
// lets a reader in while the coordinator writes, or after it was killed).

function read<T>(dbPath: string, fn: (db: SQLite.Database) => T): T {
  const db = new SQLite(dbPath, { readonly: true, fileMustExist: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** A job a launcher holds (offered, running or being stopped). */
export interface HeldJob {
  id: string;
  state: JobState;
  attempt: number;
  launcherId: string;
}

/** The jobs launchers hold, all or those of one launcher. */
export function heldJobs(dbPath: string, launcherId?: string): HeldJob[] {
  return read(dbPath, (db) => (db.prepare(
    "SELECT id, state, attempt, launcher_id AS launcherId FROM jobs WHERE state IN (?, ?, ?)" +
      (launcherId === undefined ? "" : " AND launcher_id = ?"),
  ).all(
    JobState.OFFERED,
    JobState.RUNNING,
    JobState.CANCELLING,
    ...(launcherId === undefined ? [] : [launcherId]),
  ) as HeldJob[]));
}

/** A launcher's row: its state, when its lease expires (or expired), and when it last changed. */
export function launcherRow(dbPath: string, id: string): { state: number; leaseExpiresAt: number; updateTime: number } {
  return read(
    dbPath,
    (db) =>
      db.prepare(
        "SELECT state, lease_expires_at AS leaseExpiresAt, update_time AS updateTime FROM launchers WHERE id = ?",
      )
        .get(id) as { state: number; leaseExpiresAt: number; updateTime: number },
  );
}

/** The coordinator's time of the last event stored for one attempt of a job, if any. */
export function lastEventTime(dbPath: string, jobId: string, attempt: number): number | undefined {
  return read(
    dbPath,
    (db) =>
      (db.prepare("SELECT max(time) FROM job_events WHERE job_id = ? AND attempt = ?").pluck().get(jobId, attempt) as
        | number
        | null) ?? undefined,
  );
}
