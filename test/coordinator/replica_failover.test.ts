import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { JobState, JobType } from "../../gen/tether/v1/job_pb.ts";
import type { Offer } from "../../gen/tether/v1/launcher_pb.ts";
import { type CoordinatorProcess, killCoordinatorProcesses, startCoordinatorProcess } from "../support/coordinator_process.ts";
import { LauncherDriver } from "../support/launcher_driver.ts";
import { freshDatabase, type TestDatabase, testBackend } from "../support/test_database.ts";

const long = process.env.TETHER_FAULTS === "long";
const totalJobs = long ? 5_000 : 600;
const replicaCount = 3;

/** Calls `fn` against the replicas in turn until one answers: what a load balancer does for a launcher. */
class Replicas {
  constructor(readonly list: (CoordinatorProcess | null)[]) {}
  async call<T>(fn: (c: CoordinatorProcess) => Promise<T>, start: number): Promise<T> {
    for (let tries = 0;; tries++) {
      const c = this.list[(start + tries) % this.list.length];
      if (!c) continue;
      try {
        return await fn(c);
      } catch (e) {
        const code = (e as { code?: number }).code;
        // Transport failures (the replica died) and lapsed client deadlines (a loaded machine) are retried,
        // as a launcher does; any other answer from a live replica stands.
        if (code !== 14 && code !== 2 && code !== 4 && !/fetch failed|ECONNRE|socket|terminated/i.test(String(e))) {
          throw e;
        }
        if (tries > 1_500) throw e; // about 30 s: a replica restarting on a loaded machine takes seconds
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}

if (testBackend !== "postgres") console.log("replica_failover.test.ts: needs PostgreSQL; skipped on SQLite");

describe.skipIf(testBackend !== "postgres")("replicas killed and restarted under load", () => {
  let db: TestDatabase;
  afterAll(async () => {
    killCoordinatorProcesses();
    await db?.drop();
  });

  it("claims no job twice and loses none, and dispatch stays direct on restarted replicas", async () => {
    db = await freshDatabase();
    const flags = ["--poll-hold", "30s", "--lease", "20s"];
    const replicas = new Replicas([]);
    for (let i = 0; i < replicaCount; i++) replicas.list.push(await startCoordinatorProcess({ dbPath: db.url, flags }));

    // Eight launchers, each talking to "its" replica first.
    const launchers = await Promise.all(Array.from({ length: 8 }, (_, i) =>
      replicas.call(async (c) => {
        const driver = new LauncherDriver(c, { name: `l${i}`, maxConcurrency: 4 });
        await driver.register();
        return { driver, home: i % replicaCount };
      }, i)));
    const succeededBy = new Map<string, string[]>();
    let finished = 0;
    const stop = new AbortController();
    const work = launchers.map(async ({ driver, home }) => {
      while (!stop.signal.aborted) {
        const pollId = randomUUID();
        const { offers } = await replicas.call((c) => driver.via(c).poll({ pollId, freeSlots: 4, timeoutMs: 3_000 }), home);
        await Promise.all(offers.map(async (offer: Offer) => {
          await replicas.call((c) => driver.via(c).accept(offer), home);
          const { job } = await replicas.call((c) => driver.via(c).succeed(offer), home);
          if (job!.state === JobState.SUCCEEDED) {
            succeededBy.set(offer.job!.id, [...(succeededBy.get(offer.job!.id) ?? []), `${driver.id}/${offer.fencingToken}`]);
            finished++;
          }
        }));
      }
    });

    // Jobs arrive through all replicas while, every few hundred jobs, one replica is killed and restarted.
    const created: string[] = [];
    let kills = 0;
    for (let i = 0; i < totalJobs; i += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, (_, k) => {
        const key = `job-${i + k}`;
        return replicas.call((c) =>
          c.jobs.createJob({
            type: JobType.COMMAND,
            executor: "echo",
            projectDir: "/tmp",
            parameters: { n: i + k },
            idempotencyKey: key,
          }), i + k);
      }));
      created.push(...batch.map((b) => b.job!.id));
      if (i > 0 && i % 150 === 0) {
        const victim = kills++ % replicaCount;
        const dead = replicas.list[victim]!;
        replicas.list[victim] = null;
        dead.child.kill("SIGKILL");
        await dead.stop();
        replicas.list[victim] = await startCoordinatorProcess({ dbPath: db.url, flags });
      }
    }
    // Wait for every job to finish, but fail at once if a launcher's loop failed.
    const failed = Promise.all(work).then(() => {
      throw new Error("the launchers stopped before every job finished");
    });
    while (finished < created.length) await Promise.race([new Promise((r) => setTimeout(r, 50)), failed]);
    failed.catch(() => {}); // from here on the launchers are meant to stop

    // Dispatch is still direct on a restarted replica: a poll held there gets a job created elsewhere
    // well before its 30 s hold ends (the test would time out otherwise).
    const restarted = replicas.list[0]!;
    const probe = new LauncherDriver(restarted, { name: "probe", executors: ["probe-only"] });
    await probe.register();
    const held = probe.poll({ timeoutMs: 40_000 });
    await new Promise((r) => setTimeout(r, 300));
    const { job: probeJob } = await replicas.list[1]!.jobs.createJob({
      type: JobType.COMMAND,
      executor: "probe-only",
      projectDir: "/tmp",
    });
    expect((await held).offers.map((o) => o.job!.id)).toEqual([probeJob!.id]);
    stop.abort();
    await Promise.all(work);

    expect(new Set(created).size).toBe(totalJobs);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const rows = (await client.query("SELECT id, state, attempt FROM jobs WHERE executor = 'echo'")).rows as {
      id: string;
      state: number;
      attempt: number;
    }[];
    await client.end();
    expect(rows.length).toBe(totalJobs);
    expect(rows.filter((r) => r.state !== JobState.SUCCEEDED)).toEqual([]);
    expect([...succeededBy.entries()].filter(([, by]) => by.length !== 1)).toEqual([]);
    expect(succeededBy.size).toBe(totalJobs);
    expect(kills).toBeGreaterThanOrEqual(3);
    for (const c of replicas.list) await c?.stop();
  }, 300_000);
});
