import { within } from "../delay.ts";
import type { ExecutorProcess, ExitStatus, StopSignal } from "./executor_process.ts";

/** The grace periods of one executor profile. */
export interface Grace {
  readonly interruptGraceMs: number;
  readonly terminateGraceMs: number;
}

/**
 * Stops `process` the way a person would: SIGINT (so a Claude session stays
 * resumable), SIGTERM once `interruptGraceMs` passed, SIGKILL once
 * `terminateGraceMs` more passed. Aborting `hurry` skips the remaining
 * grace and kills at once. Resolves only after the process has exited.
 */
export async function stopProcess(
  process: ExecutorProcess,
  grace: Grace,
  options: { hurry?: AbortSignal; onSignal?: (signal: StopSignal) => void } = {},
): Promise<ExitStatus> {
  const steps: [StopSignal, number][] = [
    ["SIGINT", grace.interruptGraceMs],
    ["SIGTERM", grace.terminateGraceMs],
    ["SIGKILL", Infinity],
  ];
  for (const [signal, waitMs] of steps) {
    if (options.hurry?.aborted && signal !== "SIGKILL") continue;
    options.onSignal?.(signal);
    await process.signal(signal);
    const status = await within(process.status, waitMs, options.hurry);
    if (status) return status;
  }
  return await process.status;
}
