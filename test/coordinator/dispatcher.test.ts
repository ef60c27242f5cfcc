import { describe, expect, it } from "vitest";
import { systemClock } from "../../coordinator/domain/clock.ts";
import type { JobRequirements, LauncherTraits } from "../../coordinator/domain/matching.ts";
import { Dispatcher } from "../../coordinator/dispatch/dispatcher.ts";
import { Waiter } from "../../coordinator/dispatch/waiter.ts";

// The direct handoff on its own: real Dispatcher and Waiter objects, no database and no server.

function launcher(id: string, executors = ["echo"], labels: Record<string, string> = {}): LauncherTraits {
  return { id, hostname: `${id}.host`, executors, labels };
}

function needs(overrides: Partial<JobRequirements> = {}): JobRequirements {
  return { executor: "echo", labels: {}, targetLauncherId: null, targetHostname: null, ...overrides };
}

function waiting(dispatcher: Dispatcher, traits: LauncherTraits, canTakeJobs = true): Waiter {
  const waiter = new Waiter(traits, canTakeJobs, systemClock);
  dispatcher.add(waiter);
  return waiter;
}

/** The ids of the jobs a waiter was handed since its last round. */
function handed(waiter: Waiter): string[] {
  return [...waiter.beginRound().keys()];
}

describe("the direct handoff", () => {
  it("hands a ready job to the waiter that has waited longest, and to no other", () => {
    const d = new Dispatcher();
    const first = waiting(d, launcher("a"));
    const second = waiting(d, launcher("b"));
    d.offer(new Map([["j1", needs()]]));
    expect([first.woken, second.woken]).toEqual([true, false]);
    expect(handed(first)).toEqual(["j1"]);
    expect(handed(second)).toEqual([]);
  });

  it("spreads jobs that arrive together over the waiters, one each before any gets two", () => {
    const d = new Dispatcher();
    const waiters = [waiting(d, launcher("a")), waiting(d, launcher("b")), waiting(d, launcher("c"))];
    d.offer(new Map(["j1", "j2", "j3", "j4"].map((id) => [id, needs()])));
    expect(waiters.map(handed)).toEqual([["j1", "j4"], ["j2"], ["j3"]]);
  });

  it("skips waiters whose launcher cannot run the job or takes no jobs", () => {
    const d = new Dispatcher();
    const other = waiting(d, launcher("a", ["claude-code"]));
    const unlabelled = waiting(d, launcher("b"));
    const full = waiting(d, launcher("c", ["echo"], { gpu: "1" }), false);
    const right = waiting(d, launcher("d", ["echo"], { gpu: "1" }));
    d.offer(new Map([["j1", needs({ labels: { gpu: "1" } })]]));
    expect([other, unlabelled, full, right].map((w) => w.woken)).toEqual([false, false, false, true]);
  });

  it("passes a job its waiter did not claim to the next eligible waiter, never back to one that tried it", () => {
    const d = new Dispatcher();
    const a = waiting(d, launcher("a"));
    const b = waiting(d, launcher("b"));
    d.offer(new Map([["j1", needs()]]));
    d.passOn(a.beginRound(), []);
    const roundOfB = b.beginRound();
    expect([...roundOfB.keys()]).toEqual(["j1"]);
    // Neither a nor b claimed it: nobody is left to try, and a is not woken again.
    d.passOn(roundOfB, []);
    expect(a.woken).toBe(false);
    expect(handed(a)).toEqual([]);
  });

  it("does not pass on what the claim took", () => {
    const d = new Dispatcher();
    const a = waiting(d, launcher("a"));
    const b = waiting(d, launcher("b"));
    d.offer(new Map([["j1", needs()], ["j2", needs()]]));
    expect(handed(b)).toEqual(["j2"]);
    d.passOn(a.beginRound(), [{ id: "j1" }]);
    expect(b.woken).toBe(false);
  });

  it("wakes a launcher's waiters for commands, and answers every waiter at shutdown", async () => {
    const d = new Dispatcher();
    const a = waiting(d, launcher("a"));
    const b = waiting(d, launcher("b"));
    d.wakeLauncher("a");
    expect([a.takeCommandsWoken(), b.takeCommandsWoken()]).toEqual([true, false]);
    const held = b.wait(Date.now() + 60_000, new AbortController().signal);
    d.close();
    expect(await held).toBe("closing");
    const late = new Waiter(launcher("c"), true, systemClock);
    d.add(late);
    late.beginRound();
    expect(await late.wait(Date.now() + 60_000, new AbortController().signal)).toBe("closing");
  });

  it("says when the number of held polls reaches what a caller waits for", async () => {
    const d = new Dispatcher();
    const two = d.whenSize((n) => n === 2);
    const a = waiting(d, launcher("a"));
    waiting(d, launcher("b"));
    await two;
    const one = d.whenSize((n) => n === 1);
    d.remove(a);
    await one;
    expect(d.size).toBe(1);
  });
});
