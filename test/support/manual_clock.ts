import type { Coordinator } from "../../coordinator/app.ts";
import type { Clock } from "../../coordinator/domain/clock.ts";

/**
 * A clock that moves only when a test moves it, for tests of deadlines,
 * leases and timeouts that would otherwise sleep through them.
 */
export class ManualClock implements Clock {
  constructor(private at = Date.now()) {}

  now(): number {
    return this.at;
  }

  /**
   * Moves time on by `ms` and has the coordinator do whatever fell due
   * meanwhile, as its deadline timer would have at those moments.
   */
  async pass(ms: number, coordinator: Coordinator): Promise<void> {
    this.at += ms;
    await coordinator.engine.timer.fireNow();
  }
}
