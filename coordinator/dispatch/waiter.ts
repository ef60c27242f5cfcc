import type { Clock } from "../domain/clock.ts";
import type { JobRequirements, LauncherTraits } from "../domain/matching.ts";

/** Why a held poll stopped waiting. */
export type WakeReason = "woken" | "timeout" | "aborted" | "closing";

/** A job handed to a waiter: what it needs, and the waiters it was already handed to (this one included). */
export interface Handoff {
  readonly requirements: JobRequirements;
  readonly tried: ReadonlySet<Waiter>;
}

/** The jobs a waiter was handed since its last round: its claim must take them or pass them on. */
export type Round = ReadonlyMap<string, Handoff>;

/**
 * One held PollJobs request. It is registered before its first claim, so a
 * wake-up that arrives while it claims is never lost: it only marks the
 * waiter dirty, and the poll claims again instead of waiting.
 */
export class Waiter {
  private handed = new Map<string, Handoff>();
  private dirty = false;
  private commandsWoken = false;
  private closing = false;
  private resolve: ((reason: WakeReason) => void) | null = null;

  constructor(readonly launcher: LauncherTraits, readonly canTakeJobs: boolean, private readonly clock: Clock) {}

  /** Starts a new round before the poll looks again: returns the jobs it was handed so far. */
  beginRound(): Round {
    this.dirty = false;
    const round = this.handed;
    this.handed = new Map();
    return round;
  }

  /** Whether a wake-up arrived since the round began. */
  get woken(): boolean {
    return this.dirty;
  }

  /** Hands the waiter a ready job (the Dispatcher's direct handoff) and wakes it. */
  handOff(jobId: string, handoff: Handoff): void {
    this.handed.set(jobId, handoff);
    this.wake();
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
    // A waiter added while the coordinator shuts down must not wait out its hold.
    if (reason === "closing") this.closing = true;
    this.resolve?.(reason);
    this.resolve = null;
  }

  /** Waits until woken, until `deadline` (the clock's ms), or until `signal` aborts. */
  wait(deadline: number, signal: AbortSignal): Promise<WakeReason> {
    if (this.closing) return Promise.resolve("closing");
    if (this.dirty) return Promise.resolve("woken");
    if (signal.aborted) return Promise.resolve("aborted");
    return new Promise((resolve) => {
      const timer = setTimeout(() => done("timeout"), Math.max(0, deadline - this.clock.now()));
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
