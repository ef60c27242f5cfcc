import type { BenchConfig } from "../bench_config.ts";
import type { IdlePollsResult } from "../report/results.ts";
import { startNode } from "../support/child.ts";
import { sleep } from "../support/clock.ts";
import { loadAvg1, processCpuMs, processRssBytes } from "../support/machine.ts";
import { createDatabase } from "../support/postgres.ts";
import type { Subject } from "../subjects/registry.ts";
import { startTetherServer } from "../subjects/tether_server.ts";
import { produce } from "./load_processes.ts";

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/**
 * Held polls per GiB: registers launchers (they do not heartbeat; the lease is
 * long), measures the coordinator's resident memory, opens one held poll per
 * launcher, waits until the coordinator is quiet, measures again. Then a
 * producer creates one job per poll, and the time until every poll has
 * returned its offer is recorded.
 */
export async function idlePolls(subject: Subject, config: BenchConfig): Promise<IdlePollsResult> {
  const polls = config.idlePolls;
  const database = subject.store === "PostgreSQL" ? await createDatabase("tether_polls") : null;
  const server = await startTetherServer({
    db: database?.url, name: `${subject.id}-polls`, countQueries: false,
    flags: ["--poll-hold", "10m", "--lease", "30m", "--heartbeat-interval", "1m"],
  });
  // Past about 20k connections from one address the ephemeral ports run out; use one address per 10k.
  const addresses = Math.max(2, Math.ceil(polls / 10_000));
  const loader = startNode("idle-polls", "bench/load/idle_polls.ts", [
    "--url", server.url, "--registration-token", server.tokens.registration, "--polls", String(polls),
    "--addresses", String(addresses),
  ]);
  try {
    await loader.waitFor((m) => m.type === "registered", "launchers registered", 600_000);
    await sleep(1_000);
    const before = processRssBytes(server.pid);
    loader.send({ cmd: "poll" });
    await loader.waitFor((m) => m.type === "holding", "every poll sent", 600_000);
    await quiet(server.pid);
    const held = processRssBytes(server.pid);
    const [produced, answered] = await Promise.all([
      produce(server.target, { run: "answer", count: polls, concurrency: 64 }),
      loader.waitFor((m) => m.type === "answered", "every poll answered", 300_000),
    ]);
    const all = Number(answered.answered) === polls;
    return {
      subject: subject.id, polls, addresses,
      rssBeforeMiB: before / MiB, rssHeldMiB: held / MiB,
      pollsPerGiB: polls / ((held - before) / GiB), pollsPerGiBTotal: polls / (held / GiB),
      answerAllMs: Number(answered.at) - Number(produced.startAt),
      valid: all,
      why: all ? "" : `${answered.answered} of ${polls} answered with an offer (${answered.failed} failed: ${answered.firstError})`,
      load1: loadAvg1(),
    };
  } finally {
    loader.send({ cmd: "stop" });
    await loader.stop(2_000);
    await server.stop();
    await database?.drop();
  }
}

/** Waits until a process used under 2% of a core for half a second (it has taken in every request). */
async function quiet(pid: number): Promise<void> {
  for (let i = 0; i < 120; i++) {
    const before = processCpuMs(pid);
    await sleep(500);
    if (processCpuMs(pid) - before < 10) return;
  }
}
