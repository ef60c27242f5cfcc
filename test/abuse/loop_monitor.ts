/**
 * A preload for the coordinator process (`node --import loop_monitor.ts`)
 * that measures how late its event loop runs. On SIGUSR2 it prints one JSON
 * line to stderr with the delays seen since the last SIGUSR2 (or since it
 * started) and starts a new window, so that a test can bracket an attack.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";

/** The line printed for each window; delays in milliseconds. */
export interface LoopWindow {
  loopWindow: number;
  maxMs: number;
  p99Ms: number;
  meanMs: number;
}

const histogram = monitorEventLoopDelay({ resolution: 10 });
histogram.enable();
let window = 0;

process.on("SIGUSR2", () => {
  const line: LoopWindow = {
    loopWindow: window++,
    maxMs: histogram.max / 1e6,
    p99Ms: histogram.percentile(99) / 1e6,
    meanMs: histogram.mean / 1e6,
  };
  histogram.reset();
  process.stderr.write(`${JSON.stringify(line)}\n`);
});
