import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { JobState } from "../../gen/tether/v1/job_pb.ts";
import { LauncherState } from "../../gen/tether/v1/launcher_pb.ts";
import { jobClient } from "../../tools/support/connect_clients.ts";
import { startCoordinatorProcess, waitForJobEnd } from "../support/coordinator_process.ts";
import { processAlive } from "../support/launcher_process.ts";
import { lastEventTime, launcherRow } from "./database_reads.ts";
import { useFaultRig } from "./fault_rig.ts";
import { bySize, maxOf, recordScenario, scenarioTimeoutMs } from "./fault_size.ts";
import { JobLoad } from "./job_load.ts";
import type { JobTimeline } from "./job_timeline.ts";

/** Rounds of pausing a launcher; jobs run meanwhile, at least `jobs` in all. */
const size = bySize({ jobs: 40, rounds: 2 }, { jobs: 300, rounds: 12 });
const seqCount = 6;
/** Each paused launcher runs this many jobs, all held mid-run when it is stopped. */
const sleeperSlots = 2;
const rig = useFaultRig("sigstop");

/** A job whose executor held mid-run on a paused launcher. */
interface Zombie {
  jobId: string;
  attempt: number;
  pid: number;
}

/** Collects the executors that write {"type":"holding"} for a hold file, and resolves once there are `n`. */
class HoldingExecutors {
  readonly #seen = new Map<string, Map<string, Zombie>>();
  readonly #waiters = new Set<() => void>();

  observe(timeline: JobTimeline): void {
    for (const event of timeline.events) {
      if (event.data.type !== "holding") continue;
      const file = String(event.data.file);
      const byJob = this.#seen.get(file) ?? new Map<string, Zombie>();
      byJob.set(timeline.id, { jobId: timeline.id, attempt: event.attempt, pid: Number(event.data.pid) });
      this.#seen.set(file, byJob);
    }
    for (const wake of [...this.#waiters]) wake();
  }

  /** Waits for `n` holding executors; `signal` guards against a hung test. */
  async wait(file: string, n: number, signal: AbortSignal): Promise<Zombie[]> {
    const found = () => [...(this.#seen.get(file)?.values() ?? [])];
    let wake = () => {};
    const onAbort = () => wake();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      while (found().length < n) {
        if (signal.aborted) throw new Error(`only ${found().length} of ${n} executors held for ${file}`);
        await new Promise<void>((resolve) => this.#waiters.add(wake = resolve));
        this.#waiters.clear();
      }
      return found();
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }
}

it(
  "a launcher paused past its lease and resumed has its late reports refused and kills its zombie executors",
  async () => {
    const started = Date.now();
    const coordinator = await startCoordinatorProcess({ dbPath: rig.database() });
    const survivors = await Promise.all([1, 2].map(() => rig.launcher(coordinator, { maxConcurrency: 2 })));
    const holding = new HoldingExecutors();
    const load = new JobLoad({
      jobs: jobClient(coordinator.url, coordinator.tokens.client),
      // Jobs keep coming until every round is over and at least size.jobs ended.
      total: 1_000_000,
      concurrency: 8,
      request: () => rig.job({ count: seqCount, intervalMs: 80, holdAt: 2 }, { maxAttempts: 10 }),
      onChange: (timeline) => holding.observe(timeline),
      signal: AbortSignal.timeout(scenarioTimeoutMs - 10_000),
    });
    const running = load.run();

    const rounds: {
      sleeperId: string;
      stoppedAt: number;
      resumedAt: number;
      lostAt: number;
      leaseExpiredAt: number;
      zombies: (Zombie & { killedAt: number; why: string; finishedLine: boolean })[];
    }[] = [];
    for (let r = 1; r <= size.rounds; r++) {
      const holdFile = join(rig.dir, `hold-${r}`);
      writeFileSync(holdFile, "");
      const sleeper = await rig.launcher(coordinator, {
        maxConcurrency: sleeperSlots,
        env: { TETHER_FAULT_HOLD_FILE: holdFile },
      });
      const zombies = await holding.wait(holdFile, sleeperSlots, AbortSignal.timeout(30_000)).catch((err) => {
        throw new Error(`${(err as Error).message}; the paused launcher's last lines:\n${sleeper.logs.tail()}`);
      });
      sleeper.signal("SIGSTOP");
      const stoppedAt = Date.now();
      // The coordinator gives up on the paused launcher after its lease; the jobs run again elsewhere.
      await Promise.all(zombies.map((z) => waitForJobEnd(coordinator, z.jobId, 60_000)));
      const row = launcherRow(coordinator.dbPath, sleeper.id);
      sleeper.signal("SIGCONT");
      const resumedAt = Date.now();
      const killed = await Promise.all(zombies.map(async (z) => {
        const kill = await sleeper.logs.waitFor(
          (l) => l.msg === "killing the executor without reporting" && l.jobId === z.jobId,
          "the stale kill",
        );
        const exit = await sleeper.logs.waitFor(
          (l) => l.msg === "job process exited" && l.jobId === z.jobId,
          "the zombie's exit",
        );
        return { ...z, killedAt: Date.parse(String(exit.time)), why: String(kill.reason), finishedLine: false };
      }));
      rmSync(holdFile);
      sleeper.signal("SIGTERM");
      await sleeper.exited;
      for (const z of killed) {
        z.finishedLine = sleeper.logs.lines.some((l) => l.msg === "job finished" && l.jobId === z.jobId);
      }
      expect(row.state, "the paused launcher was marked OFFLINE").toBe(LauncherState.OFFLINE);
      rounds.push({
        sleeperId: sleeper.id,
        stoppedAt,
        resumedAt,
        lostAt: row.updateTime,
        leaseExpiredAt: row.leaseExpiresAt,
        zombies: killed,
      });
    }
    await load.whenEnded(size.jobs);
    load.stop();
    await running;

    const report = rig.check(coordinator.dbPath, load, seqCount);
    const problems: string[] = [];
    for (const round of rounds) {
      if (round.lostAt < round.leaseExpiredAt) problems.push(`${round.sleeperId} was lost before its lease expired`);
      for (const z of round.zombies) {
        const final = load.timelines.get(z.jobId)?.final;
        if (processAlive(z.pid)) problems.push(`job ${z.jobId}: executor ${z.pid} of attempt ${z.attempt} still runs`);
        if (z.finishedLine) problems.push(`job ${z.jobId}: the paused launcher reported its end`);
        if (final?.state !== JobState.SUCCEEDED || final.attempt <= z.attempt || final.launcherId === round.sleeperId) {
          problems.push(`job ${z.jobId}: did not end once, from a newer attempt on another launcher`);
        }
        const late = lastEventTime(coordinator.dbPath, z.jobId, z.attempt) ?? 0;
        if (late > round.lostAt) {
          problems.push(`job ${z.jobId}: an event of the stale attempt was stored after revocation`);
        }
        if (!/stale|refused/.test(z.why)) problems.push(`job ${z.jobId}: killed for another reason: ${z.why}`);
      }
    }
    const zombies = rounds.flatMap((r) => r.zombies);
    const byHeartbeat = zombies.filter((z) => z.why.includes("heartbeat")).length;
    recordScenario("4. Launcher paused with SIGSTOP past its lease, then resumed with SIGCONT", report, {
      faults: rounds.length,
      faultsDetail: `${rounds.length} launchers stopped for ${
        maxOf(rounds.map((r) => Math.round((r.resumedAt - r.stoppedAt) / 100) / 10))
      } s at most, each while ${sleeperSlots} executors were mid-run (${zombies.length} zombie attempts)`,
      maxRecoveryMs: maxOf(zombies.map((z) => z.killedAt - rounds.find((r) => r.zombies.includes(z))!.resumedAt)),
      recovery: "from SIGCONT to the resumed launcher's log line saying the zombie executor exited, killed unreported",
      notes: [
        `Its late reports were refused: ${byHeartbeat} zombies killed because the heartbeat answer named the token ` +
        `stale, ${zombies.length - byHeartbeat} because AppendJobEvents was refused; none of their events was ` +
        "stored after the coordinator revoked the attempt, and every job ended once, from a newer attempt elsewhere.",
        `The coordinator marked a paused launcher OFFLINE at most ${
          maxOf(rounds.map((r) => r.lostAt - r.stoppedAt))
        } ms after SIGSTOP (lease 2000 ms).`,
        `Wall time ${Math.round((Date.now() - started) / 1000)} s.`,
      ],
    });

    expect(report.details).toEqual([]);
    expect(problems).toEqual([]);
    expect(report.byState, report.unsuccessful.join("\n")).toEqual({ SUCCEEDED: load.created.length });
    expect(survivors.every((s) => s.child.exitCode === null)).toBe(true);
    await coordinator.stop();
  },
  scenarioTimeoutMs,
);
