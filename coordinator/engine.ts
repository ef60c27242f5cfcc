import { JobState } from "../gen/tether/v1/job_pb.ts";
import type { CoordinatorConfig } from "./config.ts";
import { DeadlineTimer } from "./deadline_timer.ts";
import { Dispatcher } from "./dispatcher.ts";
import { JobWatchHub } from "./job_watch_hub.ts";
import { isTerminal } from "./job_rules.ts";
import { errorText, type Logger } from "./log.ts";
import { expireDueJobs, nextDeadline } from "./storage/due_jobs.ts";
import type { RetryPolicy } from "./storage/end_attempt.ts";
import { extendLeasesAndOffers, lapseLaunchers } from "./storage/launchers.ts";
import { type ChangeFeed, type ChangeMessage, openChangeFeed } from "./storage/change_feed.ts";
import { loadJobs, queuedSuccessors } from "./storage/list_jobs.ts";
import type { Db } from "./storage/open_database.ts";
import type { JobRow } from "./storage/rows.ts";
import { jobRequirements } from "./storage/traits.ts";
import type { Changes } from "./storage/transaction.ts";

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
  private readonly shutdown = new AbortController();
  private feed: ChangeFeed | null = null;

  constructor(readonly db: Db, readonly config: CoordinatorConfig, readonly log: Logger) {
    this.policy = { retryBackoffMs: config.retryBackoffMs, retryBackoffMaxMs: config.retryBackoffMaxMs };
    this.timer = new DeadlineTimer(() => this.runDue(), (e) => log.error("deadline work failed", { error: errorText(e) }));
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
        this.dispatcher.wakeAll();
        this.watchers.wakeAll();
        void this.timer.fireNow();
      },
    }, this.log);
  }

  /** Reacts to committed changes: wakes watchers, launchers and eligible waiters, arms deadlines; tells other coordinators. */
  async publish(changes: Changes): Promise<void> {
    const launchers = new Set(changes.launchers);
    for (const job of changes.jobs) {
      this.watchers.changed(job.id);
      if (job.deadline_at !== null) this.timer.arm(job.deadline_at);
      if (job.state === JobState.CANCELLING && job.launcher_id !== null) launchers.add(job.launcher_id);
    }
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
    for (const id of message.launchers) this.dispatcher.wakeLauncher(id);
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
