import { type JobRequirements, launcherMatches, type LauncherTraits } from "../domain/matching.ts";

/** Why a held poll stopped waiting. */
export type WakeReason = "woken" | "timeout" | "aborted" | "closing";

/**
 * One held PollJobs request. It is registered before its first claim, so a
 * wake-up that arrives while it claims is never lost: it only marks the
 * waiter dirty, and the poll claims again instead of waiting.
 */
export class Waiter {
  /** Jobs this waiter was woken for, with the waiters already tried for each. */
  readonly wokenFor = new Map<string, { requirements: JobRequirements; tried: Set<Waiter> }>();
  private dirty = false;
  private commandsWoken = false;
  private resolve: ((reason: WakeReason) => void) | null = null;

  constructor(readonly launcher: LauncherTraits, readonly canTakeJobs: boolean) {}

  /**
   * Starts a new round before the poll looks again: returns the jobs it was
   * woken for so far, which this round's claim must take or pass on.
   */
  beginRound(): Map<string, { requirements: JobRequirements; tried: Set<Waiter> }> {
    this.dirty = false;
    const woken = new Map(this.wokenFor);
    this.wokenFor.clear();
    return woken;
  }

  /** Whether a wake-up arrived since the round began. */
  get woken(): boolean {
    return this.dirty;
  }

  /** Wakes the waiter to look for commands (cancels, drain, deregistration): its launcher changed. */
  wakeForCommands(): void {
    this.commandsWoken = true;
    this.wake();
  }

  /** Whether a wake-up for commands arrived since this was last asked; clears it. */
  takeCommandsWoken(): boolean {
    const woken = this.commandsWoken;
    this.commandsWoken = false;
    return woken;
  }

  wake(reason: WakeReason = "woken"): void {
    this.dirty = true;
    this.resolve?.(reason);
    this.resolve = null;
  }

  /** Waits until woken, until `deadline` (ms since epoch), or until `signal` aborts. */
  wait(deadline: number, signal: AbortSignal): Promise<WakeReason> {
    if (this.dirty) return Promise.resolve("woken");
    if (signal.aborted) return Promise.resolve("aborted");
    return new Promise((resolve) => {
      const timer = setTimeout(() => done("timeout"), Math.max(0, deadline - Date.now()));
      const onAbort = () => done("aborted");
      const done = (reason: WakeReason) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        this.resolve = null;
        resolve(reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.resolve = done;
    });
  }
}

/**
 * The held polls of this coordinator, and the direct handoff: a job that
 * becomes ready wakes one eligible waiter (the one waiting longest), never
 * all of them. A waiter that claims something else passes the job on.
 */
export class Dispatcher {
  /** In arrival order: a Set iterates in insertion order. */
  private readonly waiters = new Set<Waiter>();
  private closing = false;

  get size(): number {
    return this.waiters.size;
  }

  add(waiter: Waiter): void {
    if (this.closing) waiter.wake("closing");
    this.waiters.add(waiter);
  }

  remove(waiter: Waiter): void {
    this.waiters.delete(waiter);
  }

  /** Wakes every held poll of a launcher, to look for commands (cancel, drain, deregistered). */
  wakeLauncher(launcherId: string): void {
    for (const w of this.waiters) if (w.launcher.id === launcherId) w.wakeForCommands();
  }

  /**
   * Hands each ready job to one eligible waiter that has not tried it yet,
   * preferring a waiter not already woken in this call, so that jobs that
   * arrive together spread over the launchers that wait.
   */
  offer(jobs: ReadonlyMap<string, JobRequirements>, tried: ReadonlyMap<string, Set<Waiter>> = new Map()): void {
    const wokenNow = new Set<Waiter>();
    for (const [jobId, requirements] of jobs) {
      const skip = tried.get(jobId) ?? new Set<Waiter>();
      let chosen: Waiter | undefined;
      for (const w of this.waiters) {
        if (!w.canTakeJobs || skip.has(w) || !launcherMatches(w.launcher, requirements)) continue;
        if (!wokenNow.has(w)) {
          chosen = w;
          break;
        }
        chosen ??= w;
      }
      if (!chosen) continue;
      chosen.wokenFor.set(jobId, { requirements, tried: new Set([...skip, chosen]) });
      wokenNow.add(chosen);
      chosen.wake();
    }
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
}
