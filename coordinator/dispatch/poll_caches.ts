import type { Clock } from "../domain/clock.ts";
import type { HeldAttempt } from "../domain/orphans.ts";
import type { LauncherRow } from "../storage/db/rows.ts";

/**
 * What polls and heartbeats found absent, remembered until a change could
 * make them find something: so that an idle launcher's poll or heartbeat
 * costs no statement while nothing changes. Each lookup below runs its
 * query or answers from memory; callers never handle the bookkeeping.
 *
 * A count moves whenever any job changes (published here or by another
 * coordinator through the change feed) or offers are made here. While it
 * stands still, no job became claimable and no launcher gained an offer or
 * a cancel. The one switch is `soleCoordinator`: with several coordinators
 * on one database, offers made by another one are not announced, so what a
 * launcher holds (offers, attempts) is always looked up.
 */
export class PollCaches {
  private jobChanges = 0;
  /** Per launcher, the count at which a claim for it found nothing more to take. */
  private readonly claimedAllAt = new Map<string, number>();
  /** Per launcher, the count at which it held no offer and no cancelling job. */
  private readonly holdsNothingAt = new Map<string, number>();
  /** Launchers found holding no attempt at count `attemptFreeAt`, since `attemptFreeSince`. */
  private attemptFree = new Set<string>();
  private attemptFreeAt: number | null = null;
  private attemptFreeSince = 0;
  /** Launcher rows as last read, dropped whenever a launcher's registration or state changes. */
  private readonly launcherRows = new Map<string, LauncherRow>();
  /** Per launcher, how often its row changed; and how often every row may have (a resync of the change feed). */
  private readonly launcherRowChanges = new Map<string, number>();
  private resyncs = 0;

  constructor(
    private readonly soleCoordinator: boolean,
    private readonly clock: Clock,
    /** How long "holds no attempt" is trusted at most, should a change ever go unpublished (a commit whose sync failed). */
    private readonly attemptFreeMaxAgeMs: number,
  ) {}

  /** Jobs changed (here or on another coordinator), or offers were made here. */
  jobsChanged(): void {
    this.jobChanges++;
  }

  /** A launcher's row changed (its credential, say): drop what is kept of it, at once. */
  launcherChanged(id: string): void {
    this.launcherRowChanges.set(id, (this.launcherRowChanges.get(id) ?? 0) + 1);
    this.launcherRows.delete(id);
    this.claimedAllAt.delete(id);
    this.holdsNothingAt.delete(id);
    this.attemptFree.delete(id);
  }

  /** A launcher reported running jobs: whether it holds attempts must be looked up again. */
  launcherBusy(id: string): void {
    this.attemptFree.delete(id);
  }

  /** Changes may have been missed (the change feed reconnected): forget everything. */
  resync(): void {
    this.jobChanges++;
    this.resyncs++;
    this.launcherRows.clear();
    this.claimedAllAt.clear();
    this.holdsNothingAt.clear();
    this.attemptFree = new Set();
  }

  /**
   * A launcher's row, from memory when it has not changed since it was last
   * read. Only its lease is not kept current, and nothing that uses this reads it.
   */
  async launcher(id: string, load: () => Promise<LauncherRow>): Promise<LauncherRow> {
    const cached = this.launcherRows.get(id);
    if (cached) return cached;
    const changes = this.launcherRowChanges.get(id) ?? 0;
    const resyncs = this.resyncs;
    const row = await load();
    // A change of this launcher published while it was read may be newer than the row: then do not keep it.
    // (Changes of other launchers do not matter: right after many registrations, every read would miss.)
    if (changes === (this.launcherRowChanges.get(id) ?? 0) && resyncs === this.resyncs) this.launcherRows.set(id, row);
    return row;
  }

  /**
   * Runs a claim of up to `limit` jobs for a launcher, unless its last claim
   * took less than it could and no job changed since (then there is nothing
   * it could take); `handedJobs` (the direct handoff named jobs) always claims.
   */
  async claim<T>(launcherId: string, limit: number, handedJobs: boolean, run: () => Promise<T[]>): Promise<T[]> {
    const at = this.jobChanges;
    const offers = handedJobs || this.claimedAllAt.get(launcherId) !== at ? await run() : [];
    if (limit > 0 && offers.length < limit) this.claimedAllAt.set(launcherId, at);
    return offers;
  }

  /** A launcher's outstanding offers and cancels, unless it held none and no job changed since. */
  async held<T>(launcherId: string, run: () => Promise<T[]>): Promise<T[]> {
    const at = this.jobChanges;
    if (this.soleCoordinator && this.holdsNothingAt.get(launcherId) === at) return [];
    const held = await run();
    if (held.length === 0) this.holdsNothingAt.set(launcherId, at);
    return held;
  }

  /**
   * The attempts these launchers hold, looked up only for those not found
   * holding none since the last job change (and at least once per max age).
   */
  async attemptsHeld(ids: readonly string[], run: (ids: string[]) => Promise<HeldAttempt[]>): Promise<HeldAttempt[]> {
    const at = this.jobChanges;
    const now = this.clock.now();
    if (!this.soleCoordinator || at !== this.attemptFreeAt || now - this.attemptFreeSince > this.attemptFreeMaxAgeMs) {
      this.attemptFree = new Set();
      this.attemptFreeSince = now;
    }
    const unknown = ids.filter((id) => !this.attemptFree.has(id));
    const held = unknown.length > 0 ? await run(unknown) : [];
    if (this.soleCoordinator) {
      const holding = new Set(held.map((h) => h.launcher_id));
      for (const id of unknown) if (!holding.has(id)) this.attemptFree.add(id);
      this.attemptFreeAt = at;
    }
    return held;
  }
}
