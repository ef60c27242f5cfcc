/**
 * Two launcher processes started with the same identity (the same name on
 * the same host, as when `npm run launcher` is started next to `npm start`):
 * the newer registration takes over. The older process is refused at its
 * next call, kills its jobs, says why and exits 4; its jobs run again on the
 * newer one, never while the older one's processes still run, and never more
 * at once than the launcher's maxConcurrency.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { JobState } from "../../gen/tether/v1/job_pb.ts";
import { startCoordinatorProcess, waitForEvent, waitForJob, waitForJobEnd } from "../support/coordinator_process.ts";
import { processAlive } from "../support/launcher_process.ts";
import { useFaultRig } from "../faults/fault_rig.ts";

const rig = useFaultRig("takeover");

describe("one live instance per launcher identity", () => {
  it("the newer instance takes over; the older one kills its jobs and exits 4; no job runs twice at once", async () => {
    const coordinator = await startCoordinatorProcess({ dbPath: rig.database() });
    const holdFile = join(rig.dir, "hold");
    writeFileSync(holdFile, "");
    const older = await rig.launcher(coordinator, { maxConcurrency: 2, name: "twin", env: { TETHER_FAULT_HOLD_FILE: holdFile } });
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { job } = await coordinator.jobs.createJob(rig.job({ count: 3, intervalMs: 0, holdAt: 1 }, { maxAttempts: 3 }));
      ids.push(job!.id);
    }
    // Both run on the older instance, held mid-run.
    for (const id of ids) await waitForEvent(coordinator, id, (e) => e.type === "holding", "the run holding mid-way");
    const firstRuns = rig.runs();
    expect(firstRuns.map((r) => r.attempt)).toEqual([1, 1]);

    const newer = await rig.launcher(coordinator, { maxConcurrency: 2, name: "twin" });
    expect(newer.id).toBe(older.id);
    const { code } = await older.exited;
    expect(code).toBe(4);
    const refused = older.logs.messages("this launcher instance was replaced or its credential withdrawn; killing its jobs and exiting");
    expect(refused).toHaveLength(1);
    expect(String(refused[0]!.error)).toMatch(/was replaced: instance "[\w-]+" registered at/);
    // When the older process had gone, its executors were gone too, and no second attempt had started.
    expect(firstRuns.filter((run) => processAlive(run.pid))).toEqual([]);
    expect(rig.runs().filter((run) => run.attempt > 1)).toEqual([]);

    for (const id of ids) {
      const job = await waitForJobEnd(coordinator, id);
      expect([JobState[job.state], job.attempt, job.failureReason]).toEqual(["SUCCEEDED", 2, 0]);
    }
    const runs = rig.runs();
    expect(runs.map((r) => `${r.jobId} ${r.attempt}`).sort()).toEqual(ids.flatMap((id) => [`${id} 1`, `${id} 2`]).sort());
    // The older instance's exit came before either retry: at most maxConcurrency ran on this identity at any time.
    expect(rig.aliveRuns()).toEqual([]);
    await newer.signal("SIGTERM");
    expect((await newer.exited).code).toBe(0);
    await coordinator.stop();
  });

  it("an operator shuts a host out by revoking its registration token and removing its launcher: it exits 3", async () => {
    const coordinator = await startCoordinatorProcess({ dbPath: rig.database("evicted") });
    const evicted = await rig.launcher(coordinator, { maxConcurrency: 1, name: "evicted" });
    const { tokens } = await coordinator.operator.listTokens({});
    await coordinator.operator.revokeToken({ id: tokens.find((t) => t.name.startsWith("test-registration"))!.id });
    await coordinator.operator.removeLauncher({ launcherId: evicted.id });
    expect((await evicted.exited).code).toBe(3);
    const refused = evicted.logs.messages("registration refused; shutting down");
    expect(String(refused[0]?.error)).toMatch(/was revoked/);
    await coordinator.stop();
  });

  it("a launcher restarted after a crash takes over at once, without waiting out its old lease", async () => {
    const coordinator = await startCoordinatorProcess({
      dbPath: rig.database("restart"),
      flags: ["--lease", "60s", "--heartbeat-interval", "5s", "--poll-hold", "5s"],
    });
    const crashed = await rig.launcher(coordinator, { maxConcurrency: 1, name: "phoenix" });
    crashed.signal("SIGKILL");
    await crashed.exited;
    const restarted = await rig.launcher(coordinator, { maxConcurrency: 1, name: "phoenix" });
    const { job } = await coordinator.jobs.createJob(rig.job({ count: 2, intervalMs: 0 }));
    const ended = await waitForJob(coordinator, job!.id, (j) => j.state === JobState.SUCCEEDED, "SUCCEEDED");
    expect(ended.launcherId).toBe(restarted.id);
    restarted.signal("SIGTERM");
    await restarted.exited;
    await coordinator.stop();
  });
});
