import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FailureReason, JobState, JobType } from "../../gen/tether/v1/job_pb.ts";
import { launcherId } from "../../coordinator/domain/ids.ts";
import { acceptJob } from "../../coordinator/storage/accept_job.ts";
import { claimJobs, claimStatement } from "../../coordinator/storage/claim_jobs.ts";
import { createJob, type NewJob } from "../../coordinator/storage/create_job.ts";
import { finishJob } from "../../coordinator/storage/finish_job.ts";
import { type Db, openDatabase } from "../../coordinator/storage/db/open_database.ts";
import type { JobRow, LauncherRow } from "../../coordinator/storage/db/rows.ts";
import { freshDatabase, type TestDatabase, testBackend } from "../support/test_database.ts";
import { rolledBack } from "../support/rolled_back.ts";

if (testBackend !== "postgres") console.log("claim_on_postgres.test.ts: PostgreSQL's claim function only; skipped on SQLite");

const now = 1_800_000_000_000;
const policy = { retryBackoffMs: 1000, retryBackoffMaxMs: 60_000 };

/** The credential every launcher of these tests polls with. */
const credentialHash = "hash-of-the-credential";

function launcher(name: string, hostname: string, executors: string[], labels: Record<string, string>): LauncherRow {
  return {
    id: launcherId(hostname, name), name, hostname, labels: JSON.stringify(labels), executors: JSON.stringify(executors),
    max_concurrency: 8, version: "t", state: 1, instance_id: "i", register_time: now, lease_expires_at: now, update_time: now,
    credential_hash: credentialHash, registered_by: null, previous_credential_hash: "",
    reserved_slots: 0, reserved_until: null,
  };
}

function job(overrides: Partial<NewJob> = {}): NewJob {
  return {
    type: JobType.COMMAND, executor: "echo", parameters: {}, projectDir: "/tmp", sessionName: null, sessionId: null,
    labels: {}, metadata: {}, targetLauncherId: null, targetHostname: null, priority: 0, concurrencyKey: null,
    concurrencyLimit: 1, idempotencyKey: null, requestDigest: "d", maxAttempts: 3, timeoutMs: null,
    matchTimeoutMs: 300_000, retryJobFailures: false, ...overrides,
  };
}


describe.skipIf(testBackend !== "postgres")("the claim on PostgreSQL", () => {
  let database: TestDatabase;
  let db: Db;
  beforeEach(async () => {
    database = await freshDatabase();
    db = await openDatabase(database.url);
  });
  afterEach(async () => {
    await db.destroy();
    await database.drop();
  });

  it("offers exactly what claimStatement offers, as the queue changes", async () => {
    const gpu = launcher("gpu", "h1", ["echo", "claude-code"], { gpu: "true", os: "linux" });
    const plain = launcher("plain", "h2", ["echo"], {});
    const agent = launcher("agent", "h1", ["claude-code"], { os: "linux" });
    const launchers = [gpu, plain, agent];
    await db.insertInto("launchers").values(launchers).execute();
    const ids = new Map<string, string>();
    const add = async (name: string, overrides: Partial<NewJob>) =>
      ids.set((await createJob(db, job(overrides), now)).value.job.id, name);
    await add("low", { priority: -1 });
    await add("high", { priority: 5 });
    await add("agent", { executor: "claude-code" });
    await add("unknown executor", { executor: "other" });
    await add("gpu label", { labels: { gpu: "true" } });
    await add("two labels", { labels: { gpu: "true", os: "linux" } });
    await add("label mismatch", { labels: { gpu: "true", os: "mac" } });
    await add("on h1", { targetHostname: "h1" });
    await add("on plain", { targetLauncherId: plain.id });
    for (let i = 0; i < 3; i++) await add(`repo ${i}`, { concurrencyKey: "repo", concurrencyLimit: 1 });
    for (let i = 0; i < 3; i++) await add(`pair ${i}`, { concurrencyKey: "pair", concurrencyLimit: 2, priority: i });
    await add("session start", { type: JobType.START_SESSION, executor: "claude-code", sessionName: "s" });

    const compare = async () => {
      for (const l of launchers) {
        for (const limit of [1, 3, 50]) {
          const params = { launcher: l, pollId: "p", limit, acceptTimeoutMs: 15_000, credentialHash };
          const viaStatement = await rolledBack(db, async (tx) =>
            (await claimStatement(params, now, "postgres").execute(tx)).rows
              .sort((a, b) => b.priority - a.priority || a.seq - b.seq));
          const viaFunction = await rolledBack(db, async (tx) => (await claimJobs(tx, params, now)).value);
          expect(viaFunction.map((j) => ids.get(j.id))).toEqual(viaStatement.map((j) => ids.get(j.id)));
          expect(viaFunction).toEqual(viaStatement);
        }
      }
    };
    const take = async (l: LauncherRow, limit: number) => {
      await compare();
      return (await claimJobs(db, { launcher: l, pollId: "p", limit, acceptTimeoutMs: 15_000, credentialHash }, now)).value;
    };
    const run = async (l: LauncherRow, j: JobRow) =>
      (await acceptJob(db, { launcherId: l.id, hostname: l.hostname, jobId: j.id, epoch: j.epoch }, now)).value;
    const succeed = async (l: LauncherRow, j: JobRow, executorSessionId: string | null = null) =>
      (await finishJob(db, {
        launcherId: l.id, jobId: j.id, epoch: j.epoch, nextEventOffset: 0,
        outcome: { state: JobState.SUCCEEDED, reason: FailureReason.UNSPECIFIED, error: "", exitCode: 0, result: { ok: true }, executorSessionId },
      }, policy, now)).value;

    // Priority first; "pair 1" is not the head of its key's queue while "pair 2" waits; then FIFO.
    expect((await take(gpu, 3)).map((j) => ids.get(j.id))).toEqual(["high", "pair 2", "agent"]);

    // The session's first turn runs on the agent launcher; its resume may go nowhere else, and waits for it.
    const [start] = (await take(agent, 50)).filter((j) => ids.get(j.id) === "session start");
    expect(start).toBeDefined();
    const started = await run(agent, start!);
    await add("resume", { type: JobType.RESUME_SESSION, executor: "claude-code", sessionId: started.session_id, projectDir: "" });
    await compare();
    await succeed(agent, started, "claude-session-1");
    await compare();
    const resumed = await take(agent, 1);
    expect(resumed.map((j) => ids.get(j.id))).toEqual(["resume"]);

    // Concurrency keys: the head of the key's queue only, and no more than its limit at once.
    const repo = await take(plain, 50);
    expect(repo.map((j) => ids.get(j.id))).toEqual(["pair 1", "on plain", "repo 0", "low"]);
    await succeed(plain, await run(plain, repo.find((j) => ids.get(j.id) === "repo 0")!));
    const next = await take(plain, 50);
    expect(next.map((j) => ids.get(j.id))).toEqual(["repo 1"]);
    await compare();
  });

  it("takes nothing for a credential that is no longer the launcher's, as a replica that missed a takeover would ask", async () => {
    const l = launcher("taken-over", "h", ["echo"], {});
    await db.insertInto("launchers").values(l).execute();
    await createJob(db, job(), now);
    const claim = async (hash: string) =>
      (await claimJobs(db, { launcher: l, pollId: "p", limit: 5, acceptTimeoutMs: 15_000, credentialHash: hash }, now)).value;
    expect(await claim("the-replaced-credential")).toEqual([]);
    expect((await claim(credentialHash)).map((j) => j.state)).toEqual([JobState.OFFERED]);
  });

  it("never lets concurrent claims take more of a concurrency key than its limit", async () => {
    for (let i = 0; i < 20; i++) await createJob(db, job({ concurrencyKey: "k", concurrencyLimit: 2 }), now + i);
    const fleet = Array.from({ length: 8 }, (_, i) => launcher(`l${i}`, "h", ["echo"], {}));
    await db.insertInto("launchers").values(fleet).execute();
    const claimed = (await Promise.all(
      fleet.map((l) => claimJobs(db, { launcher: l, pollId: "p", limit: 5, acceptTimeoutMs: 15_000, credentialHash }, now)),
    )).flatMap((claim) => claim.value);
    expect(claimed).toHaveLength(2);
    const queued = await db.selectFrom("jobs").select("seq").where("state", "=", JobState.QUEUED).orderBy("seq").execute();
    expect(Math.max(...claimed.map((j) => j.seq))).toBeLessThan(queued[0]!.seq);
  });
});
