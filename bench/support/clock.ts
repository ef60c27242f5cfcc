/**
 * Milliseconds on the machine's monotonic clock (CLOCK_MONOTONIC through
 * uv_hrtime), with sub-microsecond resolution. It is the same clock in every
 * process on the machine, so a producer and a consumer in different
 * processes can subtract their readings.
 */
export function monoMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
