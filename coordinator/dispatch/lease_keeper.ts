import type { Clock } from "../domain/clock.ts";
import { findOrphans } from "../domain/orphans.ts";
import type { RetryPolicy } from "../domain/retry.ts";
import type { Written } from "../storage/changes.ts";
import type { Db } from "../storage/db/open_database.ts";
import { endOrphans } from "../storage/end_orphans.ts";
import { heldAttempts, renewLeases } from "../storage/renew_leases.ts";
import type { PollCaches } from "./poll_caches.ts";

export interface LeaseKeeperOptions {
  leaseMs: number;
  heartbeatIntervalMs: number;
  /** Attempts younger than this may be missing from a heartbeat (see orphanGraceMs). */
  orphanGraceMs: number;
  policy: RetryPolicy;
  clock: Clock;
  caches: PollCaches;
  /** Acts on what a write changed (Engine.write). */
  write<T>(pending: Promise<Written<T>>): Promise<T>;
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
 * while no job changes (see PollCaches.attemptsHeld).
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

  /** Renews the leases noted so far now, instead of at the next flush (tests that move the clock themselves). */
  flushNow(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    return this.flushing = this.flushing.then(() => this.flush());
  }

  /** Forgets a launcher's noted heartbeat: it registered again, lapsed, left, or runs something now. */
  forget(launcherId: string): void {
    this.beats.delete(launcherId);
    this.options.caches.launcherBusy(launcherId);
  }

  private async flush(): Promise<void> {
    const beats = this.beats;
    if (beats.size === 0) return;
    this.beats = new Map();
    const { caches, clock, orphanGraceMs, policy, write } = this.options;
    const oldest = [...beats.values()].reduce((min, at) => Math.min(min, at), Infinity);
    const ids = [...beats.keys()];
    await write(renewLeases(this.db, ids, oldest + this.options.leaseMs));
    const held = await caches.attemptsHeld(ids, (unknown) => heldAttempts(this.db, unknown));
    // These launchers said they run nothing: every attempt they hold past the grace is an orphan.
    const now = clock.now();
    await write(endOrphans(this.db, findOrphans(held, [], orphanGraceMs, now), policy, now));
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
