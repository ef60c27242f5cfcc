import { JobState } from "../../gen/tether/v1/job_pb.ts";
import type { CoordinatorConfig } from "../config.ts";
import { DeadlineTimer } from "./deadline_timer.ts";
import type { FencingTokens } from "../domain/fencing_tokens.ts";
import { Dispatcher } from "./dispatcher.ts";
import { JobWatchHub } from "./job_watch_hub.ts";
import { LeaseKeeper } from "./lease_keeper.ts";
import { isTerminal } from "../domain/job_states.ts";
import { errorText, type Logger } from "../log.ts";
import { expireDueJobs, nextDeadline } from "../storage/due_jobs.ts";
import type { RetryPolicy } from "../storage/end_attempt.ts";
import { orphanGraceMs } from "../storage/heartbeat.ts";
import { extendLeasesAndOffers, lapseLaunchers, loadLauncher } from "../storage/launchers.ts";
import { type ChangeFeed, type ChangeMessage, openChangeFeed } from "../storage/db/change_feed.ts";
import { loadJobs, queuedSuccessors } from "../storage/list_jobs.ts";
import type { Db } from "../storage/db/open_database.ts";
import type { JobRow, LauncherRow } from "../storage/db/rows.ts";
import { jobRequirements } from "../storage/traits.ts";
import type { Changes } from "../storage/db/transaction.ts";

/**
 * What every handler shares: the database, the held polls, the deadline
 * timer and the watch streams. After each committed change a handler calls
 * `publish`, the one place that turns changes into wake-ups.
 */
export class Engine {
  readonly dispatcher = new Dispatcher();
  readonly watchers = new JobWatchHub();
  readonly timer: DeadlineTimer;
  readonly policy: RetryPolicy;
  readonly leases: LeaseKeeper;
  /**
   * Counts changes to jobs: those published here or by another coordinator,
   * and offers made here. While it stands still, no job became claimable and
   * no launcher gained an offer or a cancel, so a poll need not look again
   * for what it found absent at the same count.
   */
  private jobChanges = 0;
  /** Per launcher, the count at which a claim for it found nothing more to take. */
  private readonly claimedAllAt = new Map<string, number>();
  /** Per launcher, the count at which it held no offer and no cancelling job. */
  private readonly holdsNothingAt = new Map<string, number>();
  /** Launcher rows as last read, dropped whenever a launcher's registration or state changes. */
  private readonly launcherRows = new Map<string, LauncherRow>();
  /** Per launcher, how often its row changed; and how often every row may have (a resync of the change feed). */
  private readonly launcherRowChanges = new Map<string, number>();
  private launcherResyncs = 0;
  private readonly shutdown = new AbortController();
  private feed: ChangeFeed | null = null;

  constructor(
    readonly db: Db,
    readonly config: CoordinatorConfig,
    readonly log: Logger,
    /** Makes and checks the fencing tokens launchers see. */
    readonly fencing: FencingTokens,
  ) {
    this.policy = { retryBackoffMs: config.retryBackoffMs, retryBackoffMaxMs: config.retryBackoffMaxMs };
    this.timer = new DeadlineTimer(() => this.runDue(), (e) => log.error("deadline work failed", { error: errorText(e) }));
    this.leases = new LeaseKeeper(db, {
      leaseMs: config.leaseMs,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      orphanGraceMs: orphanGraceMs(config.heartbeatIntervalMs),
      policy: this.policy,
      publish: async (changes, earliestLease) => {
        this.timer.arm(earliestLease);
        await this.publish(changes);
      },
      jobChangeCount: () => (this.feed === null ? this.jobChanges : null),
      onError: (e) => log.error("cannot renew leases", { error: errorText(e) }),
    });
  }

  /**
   * A launcher's row, from memory when it has not changed since it was last
   * read. Registration, drain, deregistration and lapse publish the
   * launcher's id, which drops it here (on every replica, through the change
   * feed); only its lease is not kept current, and nothing here reads it.
   */
  async launcher(id: string): Promise<LauncherRow> {
    const cached = this.launcherRows.get(id);
    if (cached) return cached;
    const changes = this.launcherRowChanges.get(id) ?? 0;
    const resyncs = this.launcherResyncs;
    const row = await loadLauncher(this.db, id);
    // A change of this launcher published while it was read may be newer than the row: then do not keep it.
    // (Changes of other launchers do not matter: right after many registrations, every read would miss.)
    if (changes === (this.launcherRowChanges.get(id) ?? 0) && resyncs === this.launcherResyncs) {
      this.launcherRows.set(id, row);
    }
    return row;
  }

  /** The current count of job changes, to read before a lookup whose empty result is then recorded. */
  get jobChangeCount(): number {
    return this.jobChanges;
  }

  /** Offers were made here: the launchers that got them hold something now. */
  offered(): void {
    this.jobChanges++;
  }

  /** Whether a claim for this launcher could find something its last claim did not. */
  mayClaim(launcherId: string): boolean {
    return this.claimedAllAt.get(launcherId) !== this.jobChanges;
  }

  /** Records that a claim begun at count `at` found nothing more for the launcher. */
  claimedAll(launcherId: string, at: number): void {
    this.claimedAllAt.set(launcherId, at);
  }

  /**
   * Whether the launcher may hold offers or cancelling jobs (else it held
   * none at the current count). Always so with several coordinators: offers
   * made by another one are not announced, and a retried poll must find them.
   */
  mayHold(launcherId: string): boolean {
    return this.feed !== null || this.holdsNothingAt.get(launcherId) !== this.jobChanges;
  }

  /** Records that a lookup begun at count `at` found no offer and no cancelling job for the launcher. */
  holdsNothing(launcherId: string, at: number): void {
    this.holdsNothingAt.set(launcherId, at);
  }

  /** A launcher's row changed (its credential, say): drop what is kept of it, at once. */
  launcherChanged(id: string): void {
    this.launcherRowChanges.set(id, (this.launcherRowChanges.get(id) ?? 0) + 1);
    this.launcherRows.delete(id);
    this.claimedAllAt.delete(id);
    this.holdsNothingAt.delete(id);
    this.leases.forget(id);
    this.dispatcher.wakeLauncher(id);
  }

  /** Aborts when the coordinator shuts down. */
  get closing(): AbortSignal {
    return this.shutdown.signal;
  }

  now(): number {
    return Date.now();
  }

  /**
   * Starts the deadline timer. Leases and offers get a fresh period first:
   * the coordinator's own downtime must not count against launchers, which
   * could not reach it.
   */
  async start(): Promise<void> {
    await extendLeasesAndOffers(this.db, this.config, this.now());
    await this.timer.fireNow();
  }

  /** Answers held polls, ends watch streams and stops the timer. The caller closes the database. */
  async stop(): Promise<void> {
    this.shutdown.abort();
    this.leases.stop();
    this.dispatcher.close();
    this.watchers.wakeAll();
    await this.timer.stop();
    await this.feed?.close();
  }

  /**
   * Listens for other coordinators' changes on the same database
   * (PostgreSQL), and tells them of this one's.
   */
  async connectFeed(url: string): Promise<void> {
    this.feed = await openChangeFeed(url, this.db, {
      onMessage: (message) => {
        void this.applyRemote(message).catch((e) => this.log.error("cannot apply a change", { error: errorText(e) }));
      },
      onResync: () => {
        this.jobChanges++;
        this.launcherResyncs++;
        this.launcherRows.clear();
        this.claimedAllAt.clear();
        this.holdsNothingAt.clear();
        this.dispatcher.wakeAll();
        this.watchers.wakeAll();
        void this.timer.fireNow();
      },
    }, this.log);
  }

  /** Reacts to committed changes: wakes watchers, launchers and eligible waiters, arms deadlines; tells other coordinators. */
  async publish(changes: Changes): Promise<void> {
    if (changes.jobs.length > 0) this.jobChanges++;
    const launchers = new Set(changes.launchers);
    for (const job of changes.jobs) {
      this.watchers.changed(job.id);
      if (job.deadline_at !== null) this.timer.arm(job.deadline_at);
      if (job.state === JobState.CANCELLING && job.launcher_id !== null) launchers.add(job.launcher_id);
    }
    for (const id of changes.launchers) this.launcherChanged(id);
    for (const id of launchers) this.dispatcher.wakeLauncher(id);
    const ready = changes.jobs.filter((j) => j.state === JobState.QUEUED);
    const released = changes.jobs.filter((j) => isTerminal(j.state) && (j.session_id ?? j.concurrency_key) !== null);
    if (released.length > 0) ready.push(...await queuedSuccessors(this.db, released));
    await this.offer(ready);
    if (this.feed && (changes.jobs.length > 0 || launchers.size > 0)) {
      await this.feed.publish({
        ready: ready.map((j) => j.id),
        launchers: [...launchers],
        changed: changes.jobs.map((j) => j.id),
      });
    }
  }

  /** Another coordinator's changes: the same wake-ups, from the rows as they are now. */
  private async applyRemote(message: ChangeMessage): Promise<void> {
    if (message.changed.length > 0 || message.ready.length > 0) this.jobChanges++;
    for (const id of message.launchers) this.launcherChanged(id);
    const rows = await loadJobs(this.db, [...new Set([...message.changed, ...message.ready])]);
    for (const job of rows) {
      this.watchers.changed(job.id);
      if (job.deadline_at !== null) this.timer.arm(job.deadline_at);
    }
    const ready = new Set(message.ready);
    await this.offer(rows.filter((j) => ready.has(j.id) && j.state === JobState.QUEUED));
  }

  /** Hands ready jobs to held polls. */
  async offer(jobs: readonly JobRow[]): Promise<void> {
    if (jobs.length === 0 || this.dispatcher.size === 0) return;
    this.dispatcher.offer(await jobRequirements(this.db, jobs));
  }

  /** Does all due work and returns the next deadline. */
  private async runDue(): Promise<number | null> {
    const now = this.now();
    await this.publish(await lapseLaunchers(this.db, this.policy, now));
    for (let more = true; more;) {
      const due = await expireDueJobs(this.db, this.policy, now);
      await this.publish(due.changes);
      more = due.more;
    }
    return await nextDeadline(this.db);
  }
}
