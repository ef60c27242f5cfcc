import type { RunningJob } from "../../../gen/tether/v1/launcher_service_pb.ts";
import type { AttemptPhase, JobAttempt } from "./job_attempt.ts";

/**
 * The attempts this launcher holds, from offer to report. Each holds one
 * slot of maxConcurrency for that whole time, so the launcher never runs
 * more than it declared.
 */
export class JobTable {
  readonly #attempts = new Map<string, JobAttempt>();
  readonly #listeners = new Set<() => void>();

  constructor(readonly maxConcurrency: number) {}

  get size(): number {
    return this.#attempts.size;
  }

  get freeSlots(): number {
    return Math.max(0, this.maxConcurrency - this.#attempts.size);
  }

  /** Takes a slot for `attempt`; throws when none is free or the job is already held. */
  add(attempt: JobAttempt): void {
    if (this.#attempts.has(attempt.jobId)) throw new Error(`Job "${attempt.jobId}" is already held by this launcher`);
    if (this.freeSlots === 0) {
      throw new Error(`Cannot take job "${attempt.jobId}": all ${this.maxConcurrency} slots are in use`);
    }
    this.#attempts.set(attempt.jobId, attempt);
    this.#changed();
  }

  /** Frees the slot of `jobId`. */
  remove(jobId: string): void {
    if (this.#attempts.delete(jobId)) this.#changed();
  }

  get(jobId: string): JobAttempt | undefined {
    return this.#attempts.get(jobId);
  }

  all(): JobAttempt[] {
    return [...this.#attempts.values()];
  }

  /** How many attempts are in `phase`. */
  countIn(phase: AttemptPhase): number {
    return this.all().filter((attempt) => attempt.phase === phase).length;
  }

  /** The jobs held under a live token (accepted, or being accepted), as Heartbeat lists them. */
  runningJobs(): Pick<RunningJob, "jobId" | "fencingToken">[] {
    return this.all()
      .filter((attempt) => attempt.holdsToken)
      .map((attempt) => ({ jobId: attempt.jobId, fencingToken: attempt.fencingToken }));
  }

  /** The jobs being stopped on request, so polls do not send their cancel again. */
  cancellingJobIds(): string[] {
    return this.all().filter((attempt) => attempt.cancelling).map((attempt) => attempt.jobId);
  }

  /** Calls `listener` after every change; returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(): void {
    for (const listener of [...this.#listeners]) listener();
  }
}
