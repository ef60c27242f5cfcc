import { type Clock, systemClock } from "../domain/clock.ts";

/**
 * One timer for every deadline the coordinator keeps (offers, leases,
 * timeouts, retries, match timeouts), set to the earliest one. It is a
 * timer to a known moment, not a periodic re-check: `arm` moves it earlier
 * when a new deadline is written, and after each run it is set to the next
 * deadline the database holds.
 */
export class DeadlineTimer {
  private timer: NodeJS.Timeout | null = null;
  private at: number | null = null;
  private running: Promise<void> | null = null;
  private rerun = false;
  private stopped = false;

  /** `run` does the due work and returns the next deadline, if any. */
  constructor(
    private readonly run: () => Promise<number | null>,
    private readonly onError: (e: unknown) => void,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Makes sure the timer fires no later than `at`. */
  arm(at: number): void {
    if (this.stopped || (this.at !== null && this.at <= at)) return;
    this.schedule(at);
  }

  /** Runs due work now (at start: whatever fell due while the coordinator was down). */
  fireNow(): Promise<void> {
    return this.fire();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.at = at;
    // setTimeout cannot wait past about 24.8 days; wake then and look again.
    const delay = Math.min(Math.max(0, at - this.clock.now()), 2 ** 31 - 1);
    this.timer = setTimeout(() => void this.fire(), delay);
  }

  private fire(): Promise<void> {
    // The deadline this timer was set to has passed either way: left in place while a run is under way,
    // it would make arm() ignore every later deadline, and no lease or offer would ever lapse again.
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.at = null;
    if (this.running) {
      this.rerun = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.rerun = false;
        try {
          const next = await this.run();
          if (next !== null && !this.stopped) this.arm(next);
        } catch (error) {
          this.onError(error);
          if (!this.stopped) this.arm(this.clock.now() + 1_000); // try again shortly; the failure is logged
        }
      } while (this.rerun && !this.stopped);
      this.running = null;
    })();
    return this.running;
  }
}
