/**
 * Counts the signals that ask the launcher to stop: the first drains, the
 * second forces, the third abandons. The same signal again within
 * `sameWithinMs` of the one before is one delivery, not two: systemd,
 * `timeout` and `docker stop` send one SIGTERM to every process of the
 * group, and a wrapper in it (npm, the launcher's node wrapper) passes it
 * on as well, so the launcher gets it twice at once.
 */
export class ShutdownSignals {
  #count = 0;
  #last: { signal: string; at: number } | undefined;

  constructor(private readonly now: () => number = () => performance.now(), private readonly sameWithinMs = 1_000) {}

  /** The signal's place among those counted (1, 2, 3, ...), or 0 for a repeated delivery of the last one. */
  receive(signal: string): number {
    const at = this.now();
    const last = this.#last;
    this.#last = { signal, at };
    if (last && last.signal === signal && at - last.at < this.sameWithinMs) return 0;
    return ++this.#count;
  }
}
