import { type JobRequirements, launcherMatches } from "../domain/matching.ts";
import type { Round, Waiter } from "./waiter.ts";

/**
 * The held polls of this coordinator, and the direct handoff: a job that
 * becomes ready wakes one eligible waiter (the one waiting longest), never
 * all of them. A waiter that claims something else passes the job on to
 * the next eligible waiter that has not tried it.
 */
export class Dispatcher {
  /** In arrival order: a Set iterates in insertion order. */
  private readonly waiters = new Set<Waiter>();
  private readonly sizeListeners = new Set<() => void>();
  private closing = false;

  get size(): number {
    return this.waiters.size;
  }

  add(waiter: Waiter): void {
    if (this.closing) waiter.wake("closing");
    this.waiters.add(waiter);
    this.sizeChanged();
  }

  remove(waiter: Waiter): void {
    this.waiters.delete(waiter);
    this.sizeChanged();
  }

  /** Resolves once `check` holds for the number of held polls (for tests and tools that wait for polls). */
  whenSize(check: (size: number) => boolean, signal?: AbortSignal): Promise<void> {
    if (check(this.size)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const listener = () => {
        if (!check(this.size)) return;
        this.sizeListeners.delete(listener);
        resolve();
      };
      this.sizeListeners.add(listener);
      signal?.addEventListener("abort", () => {
        this.sizeListeners.delete(listener);
        reject(signal.reason);
      }, { once: true });
    });
  }

  /** Hands each ready job to one eligible waiter (see handOff). */
  offer(jobs: ReadonlyMap<string, JobRequirements>): void {
    this.handOff([...jobs].map(([jobId, requirements]) => ({ jobId, requirements, tried: new Set() })));
  }

  /** The jobs of a waiter's round that its claim did not take go to the next eligible waiter. */
  passOn(round: Round, claimed: readonly { id: string }[]): void {
    const taken = new Set(claimed.map((o) => o.id));
    const left = [...round].filter(([id]) => !taken.has(id));
    if (left.length > 0) this.handOff(left.map(([jobId, h]) => ({ jobId, ...h })));
  }

  /** Wakes every held poll of a launcher, to look for commands (cancel, drain, deregistered). */
  wakeLauncher(launcherId: string): void {
    for (const w of this.waiters) if (w.launcher.id === launcherId) w.wakeForCommands();
  }

  /** Has every held poll look again (changes from other coordinators may have been missed). */
  wakeAll(): void {
    for (const w of this.waiters) w.wakeForCommands();
  }

  /** Answers every held poll (empty) and refuses new ones: the coordinator is shutting down. */
  close(): void {
    this.closing = true;
    for (const w of this.waiters) w.wake("closing");
  }

  /**
   * Hands each job to one eligible waiter that has not tried it yet,
   * preferring a waiter not already handed a job in this call, so that jobs
   * that arrive together spread over the launchers that wait.
   */
  private handOff(jobs: readonly { jobId: string; requirements: JobRequirements; tried: ReadonlySet<Waiter> }[]): void {
    const handedNow = new Set<Waiter>();
    for (const { jobId, requirements, tried } of jobs) {
      let chosen: Waiter | undefined;
      for (const w of this.waiters) {
        if (!w.canTakeJobs || tried.has(w) || !launcherMatches(w.launcher, requirements)) continue;
        if (!handedNow.has(w)) {
          chosen = w;
          break;
        }
        chosen ??= w;
      }
      if (!chosen) continue;
      chosen.handOff(jobId, { requirements, tried: new Set([...tried, chosen]) });
      handedNow.add(chosen);
    }
  }

  private sizeChanged(): void {
    for (const listener of [...this.sizeListeners]) listener();
  }
}
