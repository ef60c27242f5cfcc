/**
 * Tells WatchJob streams that a job changed (new events or a new state).
 * A stream asks for the next change before it reads the database, so a
 * change that lands while it reads is never missed.
 */
export class JobWatchHub {
  private readonly listeners = new Map<string, Set<() => void>>();

  /** A promise of the job's next change; it also settles when `signal` aborts. */
  nextChange(jobId: string, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let set = this.listeners.get(jobId);
      if (!set) this.listeners.set(jobId, set = new Set());
      const done = () => {
        set.delete(done);
        if (set.size === 0 && this.listeners.get(jobId) === set) this.listeners.delete(jobId);
        signal.removeEventListener("abort", done);
        resolve();
      };
      set.add(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  /** How many streams wait for a change of the job. */
  watching(jobId: string): number {
    return this.listeners.get(jobId)?.size ?? 0;
  }

  changed(jobId: string): void {
    for (const done of [...(this.listeners.get(jobId) ?? [])]) done();
  }

  /** Has every stream look again (at shutdown, or when changes may have been missed). */
  wakeAll(): void {
    for (const jobId of [...this.listeners.keys()]) this.changed(jobId);
  }
}
