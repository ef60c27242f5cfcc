import { describe, expect, it } from "vitest";
import { DeadlineTimer } from "../../coordinator/dispatch/deadline_timer.ts";

describe("the deadline timer", () => {
  it("keeps firing when a deadline falls due while a run is under way", async () => {
    const runs: number[] = [];
    let third!: () => void;
    const thirdRun = new Promise<void>((resolve) => (third = resolve));
    const timer: DeadlineTimer = new DeadlineTimer(async () => {
      runs.push(runs.length + 1);
      if (runs.length === 1) {
        // A deadline written during the run, due at once. Timers of one delay fire in the order they were
        // set, so once this run's own timeout has passed, the deadline timer has fired while it still runs.
        timer.arm(Date.now());
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      if (runs.length === 3) third();
      // Every run finds one more deadline a little later.
      return runs.length < 3 ? Date.now() + 5 : null;
    }, (error) => {
      throw error;
    });
    timer.arm(Date.now());
    await Promise.race([
      thirdRun,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${runs.length} runs: the timer went dead`)), 10_000)),
    ]);
    await timer.stop();
    expect(runs).toEqual([1, 2, 3]);
  });
});
