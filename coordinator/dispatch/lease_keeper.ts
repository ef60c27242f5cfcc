import { endOrphans, findOrphans, heldAttempts, renewLeases } from "../storage/heartbeat.ts";
import type { Changes } from "../storage/db/transaction.ts";
import type { Db } from "../storage/db/open_database.ts";
import type { RetryPolicy } from "../storage/end_attempt.ts";

export interface LeaseKeeperOptions {
  leaseMs: number;
  heartbeatIntervalMs: number;
  /** Attempts younger than this may be missing from a heartbeat (their AcceptJob answer is in flight). */
  orphanGraceMs: number;
  policy: RetryPolicy;
  /** Acts on what a flush changed (orphaned attempts) and on the earliest lease written. */
  publish(changes: Changes, earliestLease: number): Promise<void>;
  /**
   * A count that moves whenever any job changes (see Engine.jobChangeCount),
   * or null where changes are not all seen (several coordinators).
   */
  jobChangeCount(): number | null;
  onError(error: unknown): void;
}

/**
 * Renews the leases of idle launchers in batches. A heartbeat from a live
 * launcher that runs nothing needs no answer from the database, so it is
 * answered at once and noted here; every `flushMs` one statement renews
 * all the leases noted, and one more reads the attempts those launchers
 * hold, to end the ones they no longer run (as a heartbeat would). With a
 * thousand idle launchers that is two statements per flush instead of two
 * per heartbeat. A launcher found holding nothing is not looked up again
 * while no job changes (on a single coordinator, which sees every change).
 *
 * A lease written by a flush runs from the oldest heartbeat in it, so it is
 * never longer than the design's lease after the launcher's heartbeat. The
 * flush period leaves room for a launcher's next heartbeat to be flushed
 * before its last lease ends: a lease of L and heartbeats every H need
 * flushes more often than every (L - H) / 2.
 */
export class LeaseKeeper {
  /** When each noted launcher's latest heartbeat arrived. */
  private beats = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  /** Launchers found holding no attempt, when the job change count stood at `clearAt`. */
  private clear = new Set<string>();
  private clearAt: number | null = null;
  private clearSince = 0;
  readonly flushMs: number;

  constructor(private readonly db: Db, private readonly options: LeaseKeeperOptions) {
    this.flushMs = Math.max(10, Math.min(options.heartbeatIntervalMs, (options.leaseMs - options.heartbeatIntervalMs) / 4));
  }

  /** Notes a heartbeat, at `at`, from a live launcher that runs nothing. */
  note(launcherId: string, at: number): void {
    this.beats.set(launcherId, at);
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.flushing = this.flushing.then(() => this.flush()).catch(this.options.onError);
    }, this.flushMs);
  }

  /** Forgets a launcher's noted heartbeat: it registered again, lapsed or left. */
  forget(launcherId: string): void {
    this.beats.delete(launcherId);
    this.clear.delete(launcherId);
  }

  private async flush(): Promise<void> {
    const beats = this.beats;
    if (beats.size === 0) return;
    this.beats = new Map();
    const oldest = [...beats.values()].reduce((min, at) => Math.min(min, at), Infinity);
    const lease = oldest + this.options.leaseMs;
    const ids = [...beats.keys()];
    await renewLeases(this.db, ids, lease);
    // A job changed since the launchers were found holding nothing: look again. And at least once a
    // lease in any case, should a change ever go unpublished (a commit whose sync failed).
    const at = this.options.jobChangeCount();
    const now = Date.now();
    if (at === null || at !== this.clearAt || now - this.clearSince > this.options.leaseMs) {
      this.clear = new Set();
      this.clearSince = now;
    }
    const unknown = ids.filter((id) => !this.clear.has(id));
    const held = unknown.length > 0 ? await heldAttempts(this.db, unknown) : [];
    if (at !== null) {
      const holding = new Set(held.map((h) => h.launcher_id));
      for (const id of unknown) if (!holding.has(id)) this.clear.add(id);
      this.clearAt = at;
    }
    // These launchers said they run nothing: every attempt they hold past the grace is an orphan.
    const orphans = findOrphans(held, [], this.options.orphanGraceMs, now);
    const orphaned = await endOrphans(this.db, orphans, this.options.policy, now);
    await this.options.publish({ jobs: orphaned, launchers: [] }, lease);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
