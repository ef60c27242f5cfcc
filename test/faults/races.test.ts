import { durationFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { expect, it } from "vitest";
import { FailureReason, type Job, JobState } from "../../gen/tether/v1/job_pb.ts";
import { jobClient } from "../../tools/support/connect_clients.ts";
import type { JobRequest } from "../../tools/support/jobs.ts";
import { type CoordinatorProcess, startCoordinatorProcess } from "../support/coordinator_process.ts";
import { type LauncherProcess, processAlive } from "../support/launcher_process.ts";
import { type FaultRig, useFaultRig } from "./fault_rig.ts";
import { bySize, maxOf, recordScenario, scenarioTimeoutMs } from "./fault_size.ts";
import type { InvariantReport } from "./invariants.ts";
import { JobLoad } from "./job_load.ts";
import type { JobTimeline } from "./job_timeline.ts";

const size = bySize({ cancels: 60, timeouts: 60 }, { cancels: 600, timeouts: 600 });
const seqCount = 4;
const rig = useFaultRig("races");

/** A coordinator (its database named `name`) with two launchers, and a load of `total` jobs on it. */
async function raceTrack(
  name: string,
  total: number,
  request: () => JobRequest,
  onChange: (timeline: JobTimeline, jobs: CoordinatorProcess["jobs"]) => void,
) {
  const coordinator = await startCoordinatorProcess({ dbPath: rig.database(name) });
  const launchers = await Promise.all([1, 2].map(() => rig.launcher(coordinator, { maxConcurrency: 4 })));
  const jobs = jobClient(coordinator.url, coordinator.tokens.client);
  const load = new JobLoad({
    jobs,
    total,
    concurrency: 8,
    request,
    onChange: (timeline) => onChange(timeline, jobs),
    signal: AbortSignal.timeout(scenarioTimeoutMs - 10_000),
  });
  await load.run();
  return { coordinator, launchers, load };
}

/**
 * What must hold for every job of a race, whoever won: one final state, at
 * most one launcher report that decided it (and it says that state), and no
 * executor left running.
 */
function oneWinner(job: Job, launchers: LauncherProcess[], runs: ReturnType<FaultRig["runs"]>): string[] {
  const problems: string[] = [];
  const reports = launchers.flatMap((l) =>
    l.logs.lines.filter((line) => line.msg === "job finished" && line.jobId === job.id)
  );
  if (reports.length > 1) problems.push(`job ${job.id}: ${reports.length} launcher reports of its end`);
  const answered = reports[0]?.state;
  if (answered !== undefined && answered !== JobState[job.state]) {
    problems.push(
      `job ${job.id}: the launcher's report was answered ${answered}, but the job ended ${JobState[job.state]}`,
    );
  }
  for (const run of runs.filter((r) => r.jobId === job.id && processAlive(r.pid))) {
    problems.push(`job ${job.id}: executor ${run.pid} still runs after the job ended ${JobState[job.state]}`);
  }
  return problems;
}

function finishProblems(report: InvariantReport, problems: string[]): void {
  expect(report.details).toEqual([]);
  expect(problems).toEqual([]);
  expect(report.stuck).toEqual([]);
}

it(
  "a cancel racing a completion, many times: exactly one winner, recorded, with state and events agreeing",
  async () => {
    const started = Date.now();
    const cancels = new Map<string, { at: number; answer: string; promise: Promise<void> }>();
    const { coordinator, launchers, load } = await raceTrack(
      "cancels",
      size.cancels,
      () => rig.job({ count: seqCount, intervalMs: 25 }),
      (timeline, jobs) => {
        // Seen running (a RUNNING snapshot or an event), or ended before WatchJob showed it running.
        const last = timeline.snapshots.at(-1)?.state;
        const seenRunning = last === JobState.RUNNING || timeline.events.length > 0;
        if (cancels.has(timeline.id) || !(seenRunning || timeline.final)) return;
        // The run takes about 100 ms after its start: cancel somewhere around its end.
        const waitMs = timeline.final ? 0 : Math.random() * 300;
        const entry = { at: 0, answer: "", promise: Promise.resolve() };
        entry.promise = new Promise<void>((resolve) => setTimeout(resolve, waitMs)).then(async () => {
          entry.at = Date.now();
          try {
            const { job } = await jobs.cancelJob({ id: timeline.id, reason: "racing the completion" });
            entry.answer = JobState[job!.state];
          } catch (err) {
            const e = ConnectError.from(err);
            entry.answer = e.code === Code.FailedPrecondition && /already ended/.test(e.rawMessage)
              ? `already ${/ended (\w+)/.exec(e.rawMessage)![1]}`
              : `${Code[e.code]}: ${e.rawMessage}`;
          }
        });
        cancels.set(timeline.id, entry);
      },
    );
    await Promise.all([...cancels.values()].map((c) => c.promise));

    const report = rig.check(coordinator.dbPath, load, seqCount);
    const runs = rig.runs();
    const problems: string[] = [];
    const settle: number[] = [];
    const winners = { completion: 0, cancel: 0 };
    const outcomes = new Map<string, number>();
    for (const id of load.created) {
      const job = load.timelines.get(id)!.final!;
      const cancel = cancels.get(id);
      if (!cancel) {
        problems.push(`job ${id}: never cancelled`);
        continue;
      }
      problems.push(...oneWinner(job, launchers, runs));
      const state = JobState[job.state];
      const allowed = cancel.answer === "CANCELLING"
        ? ["CANCELLED", "SUCCEEDED"]
        : cancel.answer.startsWith("already ")
        ? [cancel.answer.slice("already ".length)]
        : [cancel.answer];
      if (!allowed.includes(state)) {
        problems.push(
          `job ${id}: CancelJob answered ${cancel.answer}, but it ended ${state}`,
        );
      }
      if (job.state === JobState.SUCCEEDED) winners.completion += 1;
      if (job.state === JobState.CANCELLED) winners.cancel += 1;
      if (job.finishTime && cancel.answer === "CANCELLING") settle.push(timestampMs(job.finishTime) - cancel.at);
      const outcome = `CancelJob answered ${cancel.answer}, job ended ${state}`;
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    recordScenario("5a. Cancel racing completion", report, {
      faults: cancels.size,
      faultsDetail: `${cancels.size} CancelJob calls 0-300 ms after the job was seen RUNNING (runs take about 100 ms)`,
      maxRecoveryMs: maxOf(settle),
      recovery: "from a CancelJob answered CANCELLING to the job's final state",
      notes: [
        `Winners: completion ${winners.completion}, cancel ${winners.cancel}; every job had at most one launcher report ` +
        "of its end, and it agreed with the final state; no executor was left running.",
        `Races: ${[...outcomes].sort().map(([outcome, n]) => `${outcome}: ${n}`).join("; ")}.`,
        `Wall time ${Math.round((Date.now() - started) / 1000)} s.`,
      ],
    });
    finishProblems(report, problems);
    expect(load.created).toHaveLength(size.cancels);
    await coordinator.stop();
  },
  scenarioTimeoutMs,
);

it(
  "a timeout racing a completion, many times: exactly one winner, recorded, with state and events agreeing",
  async () => {
    const started = Date.now();
    const timeouts = new Map<string, number>();
    const { coordinator, launchers, load } = await raceTrack(
      "timeouts",
      size.timeouts,
      () => {
        // The run takes about 100 ms, plus the executor's start: time out somewhere around its end.
        const ms = 100 + Math.floor(Math.random() * 200);
        return rig.job({ count: seqCount, intervalMs: 25 }, { timeout: durationFromMs(ms), maxAttempts: 1 });
      },
      () => {},
    );

    const report = rig.check(coordinator.dbPath, load, seqCount);
    const runs = rig.runs();
    const problems: string[] = [];
    const settle: number[] = [];
    const winners = { completion: 0, timeout: 0 };
    for (const id of load.created) {
      const job = load.timelines.get(id)!.final!;
      problems.push(...oneWinner(job, launchers, runs));
      if (job.state === JobState.SUCCEEDED) winners.completion += 1;
      else if (job.state === JobState.FAILED && job.failureReason === FailureReason.TIMEOUT) {
        winners.timeout += 1;
        const deadline = timestampMs(job.startTime!) + Number(job.timeout!.seconds) * 1000 + job.timeout!.nanos / 1e6;
        timeouts.set(id, deadline);
        settle.push(timestampMs(job.finishTime!) - deadline);
      } else {problems.push(
          `job ${id}: ended ${JobState[job.state]} (${FailureReason[job.failureReason]}): ${job.error}`,
        );}
    }
    recordScenario("5b. Timeout racing completion", report, {
      faults: size.timeouts,
      faultsDetail:
        `${size.timeouts} jobs with a timeout of 100-300 ms (runs take about 100 ms plus the executor's start)`,
      maxRecoveryMs: maxOf(settle),
      recovery:
        "from a timed-out attempt's deadline (start + timeout, the coordinator's clock) to the job's final state",
      notes: [
        `Winners: completion ${winners.completion}, timeout ${winners.timeout}; every job had at most one launcher ` +
        "report of its end, and it agreed with the final state; no executor was left running.",
        `Wall time ${Math.round((Date.now() - started) / 1000)} s.`,
      ],
    });
    finishProblems(report, problems);
    expect(load.created).toHaveLength(size.timeouts);
    expect(winners.completion > 0 && winners.timeout > 0, "both sides won some races").toBe(true);
    await coordinator.stop();
  },
  scenarioTimeoutMs,
);
