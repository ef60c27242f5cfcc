import { JobState } from "../../gen/tether/v1/job_pb.ts";
import type { CoordinatorConfig } from "../config.ts";
import { type Clock, systemClock } from "../domain/clock.ts";
import type { FencingTokens } from "../domain/fencing_tokens.ts";
import { isTerminal } from "../domain/job_states.ts";
import { orphanGraceMs } from "../domain/orphans.ts";
import type { RetryPolicy } from "../domain/retry.ts";
import { errorText, type Logger } from "../log.ts";
import type { Changes, Written } from "../storage/changes.ts";
import { type ChangeFeed, type ChangeMessage, openChangeFeed } from "../storage/db/change_feed.ts";
import type { Db } from "../storage/db/open_database.ts";
import type { JobRow, LauncherRow } from "../storage/db/rows.ts";
import { measureSqliteStore } from "../storage/db/store_size.ts";
import { expireDueJobs, nextDeadline } from "../storage/due_jobs.ts";
import { extendLeasesAndOffers } from "../storage/extend_leases.ts";
import { lapseLaunchers } from "../storage/lapse_launchers.ts";
import { loadJobs } from "../storage/load_jobs.ts";
import { queuedSuccessors } from "../storage/queued_successors.ts";
import { loadLauncher } from "../storage/load_launcher.ts";
import { jobRequirements } from "../storage/traits.ts";
import { DeadlineTimer } from "./deadline_timer.ts";
import { Dispatcher } from "./dispatcher.ts";
import { EventPageCache } from "./event_page_cache.ts";
import { JobWatchHub } from "./job_watch_hub.ts";
import { LeaseKeeper } from "./lease_keeper.ts";
import { PollCaches } from "./poll_caches.ts";
import { RetentionSweeper } from "./retention_sweeper.ts";
import { StoreGuard } from "./store_guard.ts";

/**
 * How often the retention sweeper looks for what has outlived its retention:
 * every ten minutes, or a quarter of the shortest retention when that is
 * shorter, so that nothing outlives its retention by more than a quarter.
 */
function retentionSweepMs(config: CoordinatorConfig): number {
  const retentions = [config.retentionMs, config.launcherRetentionMs].filter((ms) => ms > 0);
  return Math.max(1_000, Math.min(10 * 60_000, ...retentions.map((ms) => ms / 4)));
}

export interface EngineOptions {
  /** Whether other coordinators share the database (PostgreSQL): changes then also come through the change feed. */
  sharedDatabase: boolean;
  clock?: Clock;
}

/**
 * What every handler shares: the database, the held polls, the deadline
 * timer, the lease keeper, the watch streams and the poll caches. Handlers
 * write through `write`, the one place that turns what a write changed into
 * wake-ups, timers and watch events, here and on other coordinators.
 */
export class Engine {
  readonly dispatcher = new Dispatcher();
  readonly watchers = new JobWatchHub();
  /** Full pages of events, shared by the watches replaying them. */
  readonly eventPages = new EventPageCache(32 * 1024 * 1024);
  readonly timer: DeadlineTimer;
  readonly policy: RetryPolicy;
  readonly leases: LeaseKeeper;
  readonly caches: PollCaches;
  readonly retention: RetentionSweeper;
  /** Refuses new jobs and events while the store is nearly full. */
  readonly storeGuard: StoreGuard;
  readonly clock: Clock;
  private readonly shutdown = new AbortController();
  private feed: ChangeFeed | null = null;

  constructor(
    readonly db: Db,
    readonly config: CoordinatorConfig,
    readonly log: Logger,
    /** Makes and checks the fencing tokens launchers see. */
    readonly fencing: FencingTokens,
    options: EngineOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.policy = { retryBackoffMs: config.retryBackoffMs, retryBackoffMaxMs: config.retryBackoffMaxMs };
    this.caches = new PollCaches(!options.sharedDatabase, this.clock, config.leaseMs);
    this.timer = new DeadlineTimer(
      () => this.runDue(),
      (e) => log.error("deadline work failed", { error: errorText(e) }),
      this.clock,
    );
    this.leases = new LeaseKeeper(db, {
      leaseMs: config.leaseMs,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      orphanGraceMs: orphanGraceMs(config.heartbeatIntervalMs),
      policy: this.policy,
      clock: this.clock,
      caches: this.caches,
      write: (pending) => this.write(pending),
      onError: (e) => log.error("cannot renew leases", { error: errorText(e) }),
    });
    this.storeGuard = new StoreGuard(
      options.sharedDatabase ? async () => null : () => measureSqliteStore(db, config.db),
      { maxBytes: config.dbMaxBytes, minFreeDiskBytes: config.minFreeDiskBytes },
      this.clock,
      (e) => log.warn("cannot measure the store's size", { error: errorText(e) }),
    );
    this.retention = new RetentionSweeper(db, {
      jobRetentionMs: config.retentionMs,
      launcherRetentionMs: config.launcherRetentionMs,
      intervalMs: retentionSweepMs(config),
      clock: this.clock,
      onError: (e) => log.error("cannot delete what outlived its retention", { error: errorText(e) }),
    });
  }

  now(): number {
    return this.clock.now();
  }

  /** Aborts when the coordinator shuts down. */
  get closing(): AbortSignal {
    return this.shutdown.signal;
  }

  /** Waits for a storage write, acts on what it changed, and returns its value. */
  async write<T>(pending: Promise<Written<T>>): Promise<T> {
    const { value, changes } = await pending;
    await this.apply(changes);
    return value;
  }

  /**
   * The fast path of `write` for a new job: it is handed to held polls the
   * moment its transaction commits, while the commit is made durable (see
   * TransactionOptions.committed). Safe because a launcher starts nothing
   * before its AcceptJob, which is durable only after the job is. A write
   * whose sync fails answers with that failure.
   */
  async writeHandingOffAtCommit<T>(run: (committed: (w: Written<T>) => void) => Promise<Written<T>>): Promise<T> {
    let applied: Promise<void> | undefined;
    const { value, changes } = await run((w) => {
      applied = this.apply(w.changes);
      applied.catch(() => {}); // awaited below, once the commit is durable
    });
    await (applied ?? this.apply(changes));
    return value;
  }

  /** A launcher's row, kept between reads until it changes (see PollCaches.launcher). */
  launcher(id: string): Promise<LauncherRow> {
    return this.caches.launcher(id, () => loadLauncher(this.db, id));
  }

  /** A launcher's row changed (its credential, say): what is kept of it goes at once, and its polls look again. */
  launcherChanged(id: string): void {
    this.caches.launcherChanged(id);
    this.leases.forget(id);
    this.dispatcher.wakeLauncher(id);
  }

  /**
   * Starts the deadline timer. Leases and offers get a fresh period first:
   * the coordinator's own downtime must not count against launchers, which
   * could not reach it.
   */
  async start(): Promise<void> {
    await extendLeasesAndOffers(this.db, this.config, this.now());
    await this.timer.fireNow();
    this.retention.start();
  }

  /** Answers held polls, ends watch streams and stops the timer. The caller closes the database. */
  async stop(): Promise<void> {
    this.shutdown.abort();
    this.leases.stop();
    this.dispatcher.close();
    this.watchers.wakeAll();
    await this.timer.stop();
    await this.retention.stop();
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
        this.caches.resync();
        this.dispatcher.wakeAll();
        this.watchers.wakeAll();
        void this.timer.fireNow();
      },
    }, this.log);
  }

  /** Reacts to committed changes: wakes watchers, launchers and eligible waiters, arms deadlines; tells other coordinators. */
  private async apply(changes: Changes): Promise<void> {
    if (changes.jobs.length > 0 || changes.offers.length > 0) this.caches.jobsChanged();
    for (const at of changes.leases) this.timer.arm(at);
    for (const offer of changes.offers) if (offer.deadline_at !== null) this.timer.arm(offer.deadline_at);
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
    if (message.changed.length > 0 || message.ready.length > 0) this.caches.jobsChanged();
    for (const id of message.launchers) this.launcherChanged(id);
    const rows = await loadJobs(this.db, [...new Set([...message.changed, ...message.ready])]);
    for (const job of rows) {
      this.watchers.changed(job.id);
      if (job.deadline_at !== null) this.timer.arm(job.deadline_at);
    }
    const ready = new Set(message.ready);
    await this.offer(rows.filter((j) => ready.has(j.id) && j.state === JobState.QUEUED));
  }

  /** Hands ready jobs to held polls (the direct handoff), with what each requires of a launcher. */
  private async offer(jobs: readonly JobRow[]): Promise<void> {
    if (jobs.length === 0 || this.dispatcher.size === 0) return;
    this.dispatcher.offer(await jobRequirements(this.db, jobs));
  }

  /** Does all due work and returns the next deadline. */
  private async runDue(): Promise<number | null> {
    const now = this.now();
    await this.write(lapseLaunchers(this.db, this.policy, now));
    for (let more = true; more;) more = (await this.write(expireDueJobs(this.db, this.policy, now))).more;
    return await nextDeadline(this.db);
  }
}
