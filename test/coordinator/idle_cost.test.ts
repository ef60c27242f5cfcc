import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FailureReason, JobState } from "../../gen/tether/v1/job_pb.ts";
import { LauncherState } from "../../gen/tether/v1/launcher_pb.ts";
import { echoJobWith } from "../../tools/support/jobs.ts";
import { LauncherDriver } from "../support/launcher_driver.ts";
import { countSqliteStatements } from "../support/statement_counter.ts";
import { ManualClock } from "../support/manual_clock.ts";
import { startTestCoordinator, type TestCoordinator } from "../support/test_coordinator.ts";

const onSqlite = process.env.TETHER_TEST_BACKEND !== "postgres";
const statements = onSqlite ? countSqliteStatements() : null;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Idle launchers cost the database (almost) nothing: a held poll sends no
 * statement, a poll that follows one finding nothing looks again only when
 * some job changed, and idle launchers' leases are renewed together.
 */
describe("idle launchers", () => {
  let t: TestCoordinator;
  let stop: AbortController;
  beforeEach(() => {
    stop = new AbortController();
  });
  afterEach(async () => {
    stop.abort();
    await t.close();
  });

  /** Launchers that heartbeat and poll (short holds) without work, until the test ends. */
  async function idle(count: number): Promise<LauncherDriver[]> {
    const launchers = await Promise.all(Array.from({ length: count }, () => LauncherDriver.register(t)));
    for (const l of launchers) {
      void (async () => {
        while (!stop.signal.aborted) {
          await Promise.all([l.heartbeat([]), l.poll()]).catch(() => {});
        }
      })();
    }
    return launchers;
  }

  it.skipIf(!onSqlite)("send statements per lease flush, not per heartbeat or poll", async () => {
    // Heartbeats every 50 ms and polls held 50 ms: before batching, 40 launchers cost ~2,000 statements/s.
    // The coordinator's clock stands still, so no lease lapses however slowly a loaded machine runs the loops.
    t = await startTestCoordinator({ heartbeatIntervalMs: 50, leaseMs: 2_000, pollHoldMs: 50 }, undefined, {
      clock: new ManualClock(),
    });
    const launchers = await idle(40);
    await sleep(500);
    const flushMs = t.coordinator.engine.leases.flushMs;
    const before = statements!.count();
    const windowMs = 1_000;
    await sleep(windowMs);
    const sent = statements!.count() - before;
    // Per flush: a lease UPDATE and a read of held attempts (with the transaction's BEGIN, SAVEPOINT,
    // RELEASE, COMMIT and fsync PRAGMAs), and the lapse check the new leases schedule: at most about 20
    // statements, whatever the number of launchers. One statement per heartbeat would be 800.
    expect(sent).toBeLessThanOrEqual((windowMs / flushMs + 2) * 20);
    const { launchers: rows } = await t.operator.listLaunchers({});
    expect(rows.filter((r) => launchers.some((l) => l.id === r.id)).map((r) => r.state))
      .toEqual(launchers.map(() => LauncherState.ONLINE));
  });

  it("looks up an idle launcher's attempts once while no job changes, and again once one does", async () => {
    // Heartbeats every 50 ms, flushes every 50 ms; orphans past a 100 ms grace of the coordinator's clock.
    const clock = new ManualClock();
    t = await startTestCoordinator({ heartbeatIntervalMs: 50, leaseMs: 2_000 }, undefined, { clock });
    const l = await LauncherDriver.register(t);
    const flushes = async (n: number) => {
      for (let i = 0; i < n; i++) {
        await l.heartbeat([]);
        await t.coordinator.engine.leases.flushNow();
      }
    };
    const lookups = /from "jobs" where "launcher_id" in/;
    const before = statements?.count(lookups);
    await flushes(10);
    if (statements) expect(statements.count(lookups) - before!).toBe(1);
    // The launcher takes a job (a change), then says it runs nothing: past the grace the attempt is an orphan, and ends.
    await t.jobs.createJob(echoJobWith({}));
    const offer = await l.nextOffer();
    await l.accept(offer);
    await flushes(1);
    expect((await t.jobs.getJob({ id: offer.job!.id })).job!.state).toBe(JobState.RUNNING);
    await clock.pass(101, t.coordinator);
    await flushes(1);
    const { job } = await t.jobs.getJob({ id: offer.job!.id });
    expect(job!.state).not.toBe(JobState.RUNNING);
    expect(job!.failureReason).toBe(FailureReason.LAUNCHER_LOST);
  });

  it("keeps idle launchers' leases alive through batched renewals and lapses the silent one", async () => {
    const clock = new ManualClock();
    t = await startTestCoordinator({ heartbeatIntervalMs: 50, leaseMs: 400, pollHoldMs: 100 }, undefined, { clock });
    const alive = await LauncherDriver.register(t);
    const silent = await LauncherDriver.register(t);
    for (let i = 0; i < 4; i++) { // 600 ms: a lease and a half
      await alive.heartbeat([]);
      await t.coordinator.engine.leases.flushNow();
      await clock.pass(150, t.coordinator);
    }
    const { launchers } = await t.operator.listLaunchers({});
    expect(launchers.find((l) => l.id === alive.id)!.state).toBe(LauncherState.ONLINE);
    expect(launchers.find((l) => l.id === silent.id)!.state).toBe(LauncherState.OFFLINE);
  });

  it("hands a job created between two idle polls to the next poll", async () => {
    t = await startTestCoordinator({ pollHoldMs: 100 });
    const l = await LauncherDriver.register(t);
    expect((await l.poll()).offers).toEqual([]);
    expect((await l.poll()).offers).toEqual([]); // the claim is skipped: nothing changed
    const { job } = await t.jobs.createJob(echoJobWith({}));
    const { offers } = await l.poll();
    expect(offers.map((o) => o.job!.id)).toEqual([job!.id]);
    expect(offers[0]!.job!.state).toBe(JobState.OFFERED);
  });
});
