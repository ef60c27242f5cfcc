import { type Child, type Message, startNode } from "../support/child.ts";
import { countingPreload } from "../support/query_count.ts";
import type { Target } from "../subjects/subject_client.ts";

/** What a consumer process has reported so far. */
export interface ConsumerView {
  child: Child;
  received: number;
  finished: number;
  /** Latency samples (ms) by run name. */
  latencies: Map<string, number[]>;
  firstAt: number | null;
  stop(): Promise<void>;
}

/** Starts a consumer process (bench/load/consumer.ts) and waits until all its consumers wait for work. */
export async function startConsumer(
  target: Target,
  options: { pollers: number; batch: number; expect?: number; name?: string },
): Promise<ConsumerView> {
  const args = ["--target", JSON.stringify(target), "--pollers", String(options.pollers), "--batch", String(options.batch)];
  if (options.expect !== undefined) args.push("--expect", String(options.expect));
  const child = startNode(options.name ?? `consumer(${target.kind})`, "bench/load/consumer.ts", args, countingPreload);
  const view: ConsumerView = {
    child,
    received: 0,
    finished: 0,
    latencies: new Map(),
    firstAt: null,
    async stop() {
      child.send({ cmd: "stop" });
      const exited = await Promise.race([child.waitExit(), new Promise((r) => setTimeout(() => r("timeout"), 15_000))]);
      if (exited === "timeout") await child.stop(1_000);
    },
  };
  child.on((m) => {
    if (m.type === "first") view.firstAt = Number(m.at);
    if (m.type !== "progress") return;
    view.received = Number(m.received);
    view.finished = Number(m.finished);
    for (const [run, values] of Object.entries(m.latencies as Record<string, number[]>)) {
      const list = view.latencies.get(run) ?? [];
      for (const v of values) list.push(v);
      view.latencies.set(run, list);
    }
  });
  await child.waitFor((m) => m.type === "ready", "ready (all consumers waiting)", 180_000);
  return view;
}

/** Runs the producer (bench/load/producer.ts) to the end and returns its report. */
export async function produce(
  target: Target,
  options: { run: string } & ({ rate: number; durationMs: number } | { count: number; concurrency: number }),
): Promise<Message> {
  const args = ["--target", JSON.stringify(target), "--run", options.run];
  if ("rate" in options) args.push("--rate", String(options.rate), "--duration-ms", String(options.durationMs));
  else args.push("--count", String(options.count), "--concurrency", String(options.concurrency));
  const child = startNode(`producer(${target.kind})`, "bench/load/producer.ts", args);
  return await child.waitFor((m) => m.type === "produced", "the producer's report", 600_000);
}

/** Pre-creates jobs (bench/load/seed.ts); returns how long it took. */
export async function seed(target: Target, count: number): Promise<number> {
  const child = startNode(`seed(${target.kind})`, "bench/load/seed.ts", ["--target", JSON.stringify(target), "--count", String(count)]);
  const m = await child.waitFor((m) => m.type === "seeded", "seeded", 1_800_000);
  return Number(m.ms);
}

/** Resolves once `check` holds or `timeoutMs` passed; returns whether it held. */
export async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}
