import { describe, expect, it } from "vitest";
import { type Job, JobState, JobType } from "../../gen/tether/v1/job_pb.ts";
import { waitForJobEnd } from "../support/coordinator_process.ts";
import { useCoordinatorProcess, useLauncher } from "../support/process_fixtures.ts";

const coordinator = useCoordinatorProcess();
const launchers = [1, 2, 3].map((slots) => ({
  slots,
  process: useLauncher(coordinator, {
    maxConcurrency: slots,
    executors: { echo: { kind: "echo" } },
    config: { projectRoots: ["/tmp"] },
  }),
}));

/** The most attempts that overlapped in time, from the coordinator's start and finish times. */
function maxOverlap(jobs: Job[]): number {
  const ms = (t: { seconds: bigint; nanos: number } | undefined) => Number(t!.seconds) * 1000 + t!.nanos / 1e6;
  // At equal times an end sorts before a start: the slot was free again.
  const edges = jobs.flatMap((job): [number, number][] => [[ms(job.startTime), 1], [ms(job.finishTime), -1]])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, step] of edges) most = Math.max(most, (now += step));
  return most;
}

describe("three launchers sharing many jobs", () => {
  it("every job succeeds and no launcher ever runs more jobs than its slots", async () => {
    const created = await Promise.all(Array.from({ length: 24 }, (_, i) =>
      coordinator.jobs.createJob({
        type: JobType.COMMAND,
        executor: "echo",
        parameters: { prompt: `job ${i}`, delayMs: 150 },
        projectDir: "/tmp",
      })
    ));
    const ended = await Promise.all(created.map(({ job }) => waitForJobEnd(coordinator, job!.id)));
    expect(ended.map((job) => JobState[job.state])).toEqual(ended.map(() => "SUCCEEDED"));
    expect(ended.every((job) => job.attempt === 1)).toBe(true);

    for (const { process, slots } of launchers) {
      const own = ended.filter((job) => job.launcherId === process.id);
      expect(own.length, `jobs run by the launcher with ${slots} slots`).toBeGreaterThan(0);
      expect(maxOverlap(own)).toBeLessThanOrEqual(slots);
      const reported = process.logs.messages("jobs running").map((line) => Number(line.running));
      expect(Math.max(...reported)).toBeLessThanOrEqual(slots);
    }
    // The busiest launcher did use more than one slot: the limit was reached, not just respected by idling.
    const biggest = launchers.find((l) => l.slots === 3)!;
    expect(Math.max(...biggest.process.logs.messages("jobs running").map((line) => Number(line.running)))).toBeGreaterThan(1);
  });
});
