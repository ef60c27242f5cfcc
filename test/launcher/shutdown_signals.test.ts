import { describe, expect, it } from "vitest";
import { ShutdownSignals } from "../../launcher-deno/src/host/shutdown_signals.ts";

describe("counting the signals that stop the launcher", () => {
  it("counts one delivery of the same signal twice within a second once, and every other signal", () => {
    let now = 0;
    const signals = new ShutdownSignals(() => now);
    expect(signals.receive("SIGTERM")).toBe(1);
    now += 5; // passed on by a wrapper, a moment later
    expect(signals.receive("SIGTERM")).toBe(0);
    now += 300; // another signal is another request, however soon
    expect(signals.receive("SIGINT")).toBe(2);
    now += 2_000; // the same signal again, later: a person asking again
    expect(signals.receive("SIGINT")).toBe(3);
  });

  it("measures the second from the delivery before, so a burst of one signal counts once", () => {
    let now = 0;
    const signals = new ShutdownSignals(() => now);
    expect(signals.receive("SIGTERM")).toBe(1);
    for (let i = 0; i < 5; i++) {
      now += 900;
      expect(signals.receive("SIGTERM")).toBe(0);
    }
    now += 1_000;
    expect(signals.receive("SIGTERM")).toBe(2);
  });
});
