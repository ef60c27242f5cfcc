import type { Clock } from "../domain/clock.ts";
import { type Deleted, deleteExpired } from "../storage/delete_expired.ts";
import type { Db } from "../storage/db/open_database.ts";

export interface RetentionOptions {
  /** How long a finished job (and a session no job needs) is kept; 0 keeps them forever. */
  jobRetentionMs: number;
  /** How long a launcher offline or deregistered is kept; 0 keeps them forever. */
  launcherRetentionMs: number;
  /** How often to look for what has outlived its retention. */
  intervalMs: number;
  clock: Clock;
  onError(error: unknown): void;
}

/**
 * Deletes what has outlived its retention, in small steps with a turn of the
 * event loop between them (see deleteExpired), so that dispatch never waits
 * behind it: at start, and then every `intervalMs`. Several coordinators on
 * one database may sweep at once; deleting a row twice changes nothing.
 */
export class RetentionSweeper {
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<Deleted> | null = null;
  private stopped = false;

  constructor(private readonly db: Db, private readonly options: RetentionOptions) {}

  start(): void {
    if (this.options.jobRetentionMs === 0 && this.options.launcherRetentionMs === 0) return;
    this.sweepThenWait();
  }

  /** Sweeps now (or joins the sweep under way) and says how much it deleted in all. */
  sweepNow(): Promise<Deleted> {
    this.sweeping ??= this.sweep().finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  stop(): Promise<unknown> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    return this.sweeping ?? Promise.resolve();
  }

  /** Sweeps, then sweeps again `intervalMs` after this sweep ends, until stopped. */
  private sweepThenWait(): void {
    void this.sweepNow().catch(this.options.onError).finally(() => {
      if (this.stopped) return;
      this.timer = setTimeout(() => this.sweepThenWait(), this.options.intervalMs);
      this.timer.unref();
    });
  }

  private async sweep(): Promise<Deleted> {
    const { jobRetentionMs, launcherRetentionMs, clock } = this.options;
    const now = clock.now();
    // A retention of 0 keeps everything: nothing is older than time's beginning.
    const expiry = {
      jobsBefore: jobRetentionMs === 0 ? 0 : now - jobRetentionMs,
      launchersBefore: launcherRetentionMs === 0 ? 0 : now - launcherRetentionMs,
    };
    const total = { jobs: 0, events: 0, sessions: 0, launchers: 0 };
    for (;;) {
      if (this.stopped) return total;
      const step = await deleteExpired(this.db, expiry);
      total.jobs += step.jobs;
      total.events += step.events;
      total.sessions += step.sessions;
      total.launchers += step.launchers;
      if (step.jobs + step.events + step.sessions + step.launchers === 0) return total;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
