/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Settles with `promise`'s value, or with undefined when `ms` pass first or
 * `signal` aborts first. Never rejects on the timeout.
 */
export async function within<T>(promise: Promise<T>, ms: number, signal?: AbortSignal): Promise<T | undefined> {
  if (!Number.isFinite(ms)) return await promise;
  if (signal?.aborted) return undefined;
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    return await Promise.race([promise, delay(ms, stop.signal).then(() => undefined, () => undefined)]);
  } finally {
    stop.abort();
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * The wait before retry number `failures` (from 1): exponential from
 * `baseMs`, capped at `maxMs`, then jittered over its upper half so that
 * launchers that failed together do not retry together.
 */
export function backoffMs(failures: number, options: { baseMs: number; maxMs: number }, random = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(ceiling / 2 + random() * ceiling / 2);
}
