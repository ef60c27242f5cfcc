import { expect, it } from "vitest";
import { jobClient } from "../../tools/support/connect_clients.ts";
import { type CoordinatorProcess, startCoordinatorProcess } from "../support/coordinator_process.ts";
import { heldJobs } from "./database_reads.ts";
import { useFaultRig } from "./fault_rig.ts";
import { bySize, maxOf, recordScenario, scenarioTimeoutMs } from "./fault_size.ts";
import { JobLoad } from "./job_load.ts";
import { firstChangeAfter } from "./job_timeline.ts";

const size = bySize({ jobs: 150, kills: 3 }, { jobs: 1500, kills: 15 });
const seqCount = 8;
const rig = useFaultRig("crash");

it(
  "a coordinator killed with SIGKILL mid-load and restarted, again and again, loses no job and no acknowledged event",
  async () => {
    const started = Date.now();
    let coordinator: CoordinatorProcess = await startCoordinatorProcess({ dbPath: rig.database() });
    const { dbPath, port, url, tokens } = coordinator;
    await Promise.all([1, 2, 3].map(() => rig.launcher(coordinator, { maxConcurrency: 3 })));
    const signal = AbortSignal.timeout(scenarioTimeoutMs - 10_000);
    const load = new JobLoad({
      jobs: jobClient(url, tokens.client),
      total: size.jobs,
      concurrency: 12,
      request: (i) => rig.job({ count: seqCount, intervalMs: 15 }, { idempotencyKey: `crash-${i}`, maxAttempts: 10 }),
      signal,
    });
    const running = load.run();

    const kills: { at: number; held: string[]; downMs: number }[] = [];
    for (let k = 1; k <= size.kills; k++) {
      await Promise.race([load.whenEnded(Math.floor((k * size.jobs) / (size.kills + 1))), running]);
      coordinator.child.kill("SIGKILL");
      const at = Date.now();
      await new Promise((resolve) => coordinator.child.once("exit", resolve));
      const held = heldJobs(dbPath).map((j) => j.id);
      coordinator = await startCoordinatorProcess({ dbPath, listen: `127.0.0.1:${port}` });
      kills.push({ at, held, downMs: Date.now() - at });
    }
    await running;

    const report = rig.check(dbPath, load, seqCount);
    // Recovery: for each job a launcher held at the kill, the first change stored after it.
    const recoveries = kills.flatMap(({ at, held, downMs }) =>
      held.map((id) => {
        const timeline = load.timelines.get(id);
        const next = timeline && firstChangeAfter(timeline, at);
        return { fromKill: next === undefined ? Infinity : next - at, fromRestart: (next ?? Infinity) - at - downMs };
      })
    );
    recordScenario("1. Coordinator killed with SIGKILL mid-load, restarted on the same database", report, {
      faults: kills.length,
      faultsDetail: `${kills.length} SIGKILLs of the coordinator while ${
        kills.map((k) => k.held.length).join(", ")
      } jobs were offered or running; ${load.createRetries} CreateJob calls retried with their idempotency key`,
      maxRecoveryMs: maxOf(recoveries.map((r) => r.fromKill)),
      recovery:
        "from the SIGKILL to the first event or state change stored for each job that was offered or running at " +
        `that moment, restart included (the coordinator was down at most ${maxOf(kills.map((k) => k.downMs))} ms)`,
      notes: [
        `Once the coordinator listened again, each such job changed within ${
          maxOf(recoveries.map((r) => r.fromRestart))
        } ms: launchers retry a failed poll or report with jittered exponential backoff, so the longer the outage ` +
        "the longer their next try may wait.",
        `Wall time ${Math.round((Date.now() - started) / 1000)} s.`,
      ],
    });

    expect(report.details).toEqual([]);
    expect(load.created).toHaveLength(size.jobs);
    expect(report.byState, report.unsuccessful.join("\n")).toEqual({ SUCCEEDED: size.jobs });
    expect(kills.every((k) => k.held.length > 0), "every kill hit jobs in flight").toBe(true);
    expect(recoveries.filter((r) => r.fromKill === Infinity), "held jobs that never changed again").toEqual([]);
    await coordinator.stop();
  },
  scenarioTimeoutMs,
);
