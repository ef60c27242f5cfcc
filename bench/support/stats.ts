/** A latency distribution in milliseconds. */
export interface Distribution {
  n: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** Nearest-rank percentile of sorted values (q in 0..1). */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export function distribution(values: readonly number[]): Distribution {
  const sorted = Float64Array.from(values).sort();
  const list = Array.from(sorted);
  const sum = list.reduce((a, b) => a + b, 0);
  return {
    n: list.length,
    mean: list.length ? sum / list.length : NaN,
    p50: percentile(list, 0.5),
    p90: percentile(list, 0.9),
    p99: percentile(list, 0.99),
    p999: percentile(list, 0.999),
    max: list.length ? list[list.length - 1]! : NaN,
  };
}

/** Up to `points` evenly spaced quantiles, for a CDF chart without shipping every sample. */
export function quantileCurve(values: readonly number[], points = 200): [number, number][] {
  const sorted = Array.from(Float64Array.from(values).sort());
  if (sorted.length === 0) return [];
  const out: [number, number][] = [];
  for (let i = 0; i <= points; i++) {
    const q = i / points;
    out.push([q, percentile(sorted, q === 0 ? 1 / sorted.length : q)]);
  }
  return out;
}
