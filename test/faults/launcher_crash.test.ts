import { timestampMs } from "@bufbuild/protobuf/wkt";
import { expect, it } from "vitest";
import { FailureReason, JobState } from "../../gen/tether/v1/job_pb.ts";
import { LauncherState } from "../../gen/tether/v1/launcher_pb.ts";
import { jobClient } from "../../tools/support/connect_clients.ts";
import { fastCoordinatorFlags, startCoordinatorProcess } from "../support/coordinator_process.ts";
import { type HeldJob, heldJobs, launcherRow } from "./database_reads.ts";
import { useFaultRig } from "./fault_rig.ts";
import { bySize, maxOf, recordScenario, scenarioTimeoutMs } from "./fault_size.ts";
import { JobLoad } from "./job_load.ts";
import { firstSnapshotAfter } from "./job_timeline.ts";

const size = bySize({ jobs: 60, kills: 4 }, { jobs: 500, kills: 30 });
const seqCount = 10;
const rig = useFaultRig("sigkill");

it(
  "a launcher killed with SIGKILL mid-job loses its jobs as LAUNCHER_LOST once its lease lapsed, and they succeed on another launcher",
  async () => {
    const started = Date.now();
    // A longer retry backoff than the fast flags' keeps RETRY_WAIT in view of WatchJob.
    const flags = [...fastCoordinatorFlags];
    flags[flags.indexOf("--retry-backoff") + 1] = "500ms";
    const coordinator = await startCoordinatorProcess({ dbPath: rig.database(), flags });
    const launchers = await Promise.all([1, 2, 3].map(() => rig.launcher(coordinator, { maxConcurrency: 3 })));
    const load = new JobLoad({
      jobs: jobClient(coordinator.url, coordinator.tokens.client),
      total: size.jobs,
      concurrency: 12,
      request: () => rig.job({ count: seqCount, intervalMs: 60 }, { maxAttempts: 10 }),
      signal: AbortSignal.timeout(scenarioTimeoutMs - 10_000),
    });
    const running = load.run();

    const kills: { at: number; launcherId: string; held: HeldJob[] }[] = [];
    for (let k = 1; k <= size.kills; k++) {
      await Promise.race([load.whenEnded(Math.floor((k * size.jobs) / (size.kills + 1))), running]);
      // The busiest launcher goes, mid-job.
      const busy = (l: { id: string }) =>
        heldJobs(coordinator.dbPath, l.id).filter((j) => j.state === JobState.RUNNING);
      let victim = launchers.reduce((a, b) => (busy(b).length > busy(a).length ? b : a));
      // On a loaded machine every launcher may be between jobs for a moment: wait until one runs something.
      for (let tries = 0; busy(victim).length === 0 && tries < 500; tries++) {
        await new Promise((r) => setTimeout(r, 20));
        victim = launchers.reduce((a, b) => (busy(b).length > busy(a).length ? b : a));
      }
      victim.signal("SIGKILL");
      const at = Date.now();
      await victim.exited;
      kills.push({ at, launcherId: victim.id, held: heldJobs(coordinator.dbPath, victim.id) });
      launchers.splice(launchers.indexOf(victim), 1, await rig.launcher(coordinator, { maxConcurrency: 3 }));
    }
    await running;

    const report = rig.check(coordinator.dbPath, load, seqCount);
    const problems: string[] = [];
    const detections: number[] = [];
    const retries: number[] = [];
    let reportedBeforeDeath = 0;
    for (const kill of kills) {
      const row = launcherRow(coordinator.dbPath, kill.launcherId);
      // The coordinator's own record: when the lease expired, and when it marked the launcher OFFLINE.
      if (row.state !== LauncherState.OFFLINE) problems.push(`${kill.launcherId} is ${LauncherState[row.state]}`);
      if (row.updateTime < row.leaseExpiresAt) problems.push(`${kill.launcherId} was lost before its lease expired`);
      detections.push(row.updateTime - kill.at);
      for (const held of kill.held.filter((j) => j.state === JobState.RUNNING)) {
        const timeline = load.timelines.get(held.id)!;
        // A FinishJob already on the wire when the launcher died may still land: that attempt was not lost.
        const ended = timeline.final;
        if (ended?.launcherId === kill.launcherId && ended.attempt === held.attempt) {
          reportedBeforeDeath += 1;
          continue;
        }
        const lost = firstSnapshotAfter(
          timeline,
          kill.at,
          (s) => s.failureReason === FailureReason.LAUNCHER_LOST && s.launcherId === kill.launcherId,
        );
        // The retry is the final attempt, accepted (startTime) by another launcher.
        const final = timeline.final!;
        if (final.launcherId === kill.launcherId || final.attempt <= held.attempt) {
          problems.push(`job ${held.id}: not retried on another launcher`);
        } else retries.push(timestampMs(final.startTime!) - kill.at);
      }
    }
    const heldRunning = kills.map((k) => k.held.filter((j) => j.state === JobState.RUNNING).length);
    recordScenario("3. Launcher killed with SIGKILL mid-job", report, {
      faults: kills.length,
      faultsDetail: `${kills.length} launchers killed with SIGKILL while running ${heldRunning.join(", ")} jobs ` +
        `(${heldRunning.reduce((a, b) => a + b, 0) - reportedBeforeDeath} attempts lost, ${reportedBeforeDeath} ` +
        "reported done just before the kill); lease 2 s, heartbeat every 400 ms",
      maxRecoveryMs: maxOf(detections),
      recovery: "from the SIGKILL to the coordinator marking the launcher OFFLINE and its jobs LAUNCHER_LOST " +
        "(its own record, always after the lease expired)",
      notes: [
        `Each lost job was running again on another launcher within ${maxOf(retries) ?? "-"} ms of the SIGKILL.`,
        `Wall time ${Math.round((Date.now() - started) / 1000)} s.`,
      ],
    });

    expect(report.details).toEqual([]);
    expect(problems).toEqual([]);
    expect(load.created).toHaveLength(size.jobs);
    expect(report.byState, report.unsuccessful.join("\n")).toEqual({ SUCCEEDED: size.jobs });
    expect(heldRunning.every((n) => n > 0), "every kill hit running jobs").toBe(true);
    await coordinator.stop();
  },
  scenarioTimeoutMs,
);
