/**
 * The coordinator's time, in milliseconds since the epoch: every deadline,
 * lease and timestamp it writes is read from one clock, which tests replace
 * to move time on without waiting for it.
 */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
