import { JobType } from "../../gen/tether/v1/job_pb.ts";
import { createJob, type NewJob } from "../../coordinator/storage/create_job.ts";
import { isPostgresUrl, openDatabase } from "../../coordinator/storage/db/open_database.ts";

/** A job as `CreateJob {type: COMMAND, executor: "echo"}` stores it. */
export function benchJob(parameters: object = {}): NewJob {
  return {
    type: JobType.COMMAND, executor: "echo", parameters, projectDir: "/tmp", sessionName: null, sessionId: null,
    labels: {}, metadata: {}, targetLauncherId: null, targetHostname: null, priority: 0, concurrencyKey: null,
    concurrencyLimit: 1, idempotencyKey: null, requestDigest: "bench", maxAttempts: 3, timeoutMs: null,
    matchTimeoutMs: 3_600_000, retryJobFailures: false,
  };
}

/**
 * Pre-creates queued jobs through the coordinator's own storage code, one
 * transaction each as CreateJob writes them, but without waiting for each
 * commit to reach the disk (seeding is not what is measured).
 */
export async function seedTetherJobs(db: string, count: number): Promise<void> {
  const postgres = isPostgresUrl(db);
  const url = postgres ? `${db}${db.includes("?") ? "&" : "?"}options=-c%20synchronous_commit%3Doff` : db;
  const kysely = await openDatabase(url, { fsync: false });
  try {
    const lanes = postgres ? 8 : 1;
    let next = 0;
    await Promise.all(Array.from({ length: lanes }, async () => {
      while (next < count) {
        next++;
        await createJob(kysely, benchJob(), Date.now());
      }
    }));
  } finally {
    await kysely.destroy();
  }
}
