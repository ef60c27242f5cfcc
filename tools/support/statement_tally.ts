/**
 * Statements a process sent to its database, counted by their text, with
 * the time spent in each: what the tests count to bound a cost, and what the
 * benchmark's counting preload reports. Fed by tools/support/sqlite_statements.ts
 * (and, in the preload, by a wrapped pg Client.query); it only counts.
 */
export class StatementTally {
  #total = 0;
  readonly #byKey = new Map<string, { n: number; ms: number }>();

  /** `key` names a statement by its text: the text itself unless given (the benchmark folds and cuts it). */
  constructor(private readonly key: (text: string) => string = (text) => text) {}

  /** Counts one statement; a statement sent without its text (a prepared one) counts as "(prepared)". */
  readonly add = (text: unknown, ms = 0): void => {
    this.#total++;
    const key = typeof text === "string" ? this.key(text) : "(prepared)";
    const entry = this.#byKey.get(key) ?? { n: 0, ms: 0 };
    entry.n++;
    entry.ms += ms;
    this.#byKey.set(key, entry);
  };

  get total(): number {
    return this.#total;
  }

  /** How many statements so far, or how many whose key matches `match`. */
  count(match?: RegExp): number {
    if (!match) return this.#total;
    let n = 0;
    for (const [key, entry] of this.#byKey) if (match.test(key)) n += entry.n;
    return n;
  }

  /** The `limit` statements sent most often, as [key, count]. */
  top(limit: number): [string, number][] {
    return [...this.#byKey].sort((a, b) => b[1].n - a[1].n).slice(0, limit).map(([key, c]) => [key, c.n]);
  }

  /** The `limit` statements that took the most time in all, as [key, count, ms]. */
  slowest(limit: number): [string, number, number][] {
    return [...this.#byKey].sort((a, b) => b[1].ms - a[1].ms).slice(0, limit)
      .map(([key, c]) => [key, c.n, Math.round(c.ms)]);
  }
}
