import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { fromBinary } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { expect, it } from "vitest";
import { JobState } from "../../gen/tether/v1/job_pb.ts";
import {
  AcceptJobRequestSchema,
  AppendJobEventsRequestSchema,
  FinishJobRequestSchema,
  PollJobsResponseSchema,
} from "../../gen/tether/v1/launcher_service_pb.ts";
import { jobClient } from "../../tools/support/connect_clients.ts";
import { startCoordinatorProcess } from "../support/coordinator_process.ts";
import { useFaultRig } from "./fault_rig.ts";
import { bySize, maxOf, recordScenario, scenarioTimeoutMs } from "./fault_size.ts";
import { JobLoad } from "./job_load.ts";
import { firstChangeAfter, firstSnapshotAfter, type JobTimeline } from "./job_timeline.ts";
import { type Exchange, type Fate, startLoopbackProxy } from "./loopback_proxy.ts";

const size = bySize({ jobs: 120 }, { jobs: 1000 });
const seqCount = 8;
/** Each answer about a job is dropped with this chance, or else delayed with the same chance. */
const dropRate = 0.1;
/**
 * The share of jobs under a blackout: every poll answer offering the job,
 * or (for as many others) every AcceptJob answer for it, is lost for a
 * while longer than the accept deadline (2 s).
 */
const blackoutRate = 0.05;
const blackoutMs = 3_000;
const rig = useFaultRig("lossy");

/** An offer as a poll answer carried it: its token, and the coordinator's times of the claim and the deadline. */
interface SeenOffer {
  token: string;
  claimMs: number;
  deadlineMs: number;
  lostAt?: number;
}

interface Fault {
  at: number;
  method: string;
  drop: boolean;
  jobIds: string[];
}

/** A body as Connect sent it, uncompressed (the coordinator compresses larger answers). */
function plain(body: Buffer, encoding: string | string[] | undefined): Buffer {
  if (encoding === "gzip") return gunzipSync(body);
  if (encoding === "br") return brotliDecompressSync(body);
  return body;
}

/** The jobs an answer concerned: the offers of a poll, the job of an accept or a report. */
function concernedJobs(method: string, exchange: Exchange): string[] {
  const request = () => plain(exchange.request, exchange.requestHeaders["content-encoding"]);
  switch (method) {
    case "PollJobs":
      return pollOffers(exchange).map((o) => o.job!.id);
    case "AcceptJob":
      return [fromBinary(AcceptJobRequestSchema, request()).jobId];
    case "AppendJobEvents":
      return [fromBinary(AppendJobEventsRequestSchema, request()).jobId];
    case "FinishJob":
      return [fromBinary(FinishJobRequestSchema, request()).jobId];
    default:
      return [];
  }
}

function pollOffers(exchange: Exchange) {
  return fromBinary(PollJobsResponseSchema, plain(exchange.response, exchange.responseHeaders["content-encoding"]))
    .offers;
}

/** Decides the fate of each answer and keeps account of the faults and of every offer made. */
class FaultPolicy {
  readonly faults: Fault[] = [];
  readonly offers = new Map<string, SeenOffer[]>();
  /** Jobs under a blackout of one method's answers, and when it ends (counted from the first answer lost). */
  readonly blackouts = new Map<string, { method: string; until: number }>();

  /** Puts a new job under a blackout, by chance. */
  maybeBlackout(jobId: string): void {
    if (Math.random() >= 2 * blackoutRate) return;
    this.blackouts.set(jobId, { method: Math.random() < 0.5 ? "PollJobs" : "AcceptJob", until: 0 });
  }

  decide(method: string, exchange: Exchange): Fate {
    if (exchange.status !== 200) return "pass";
    const jobIds = concernedJobs(method, exchange);
    // Empty poll answers and heartbeats pass: losing them costs nothing the suite could measure.
    if (jobIds.length === 0) return "pass";
    const fate: Fate = this.#blackedOut(method, jobIds) || Math.random() < dropRate
      ? "drop"
      : Math.random() < dropRate
      ? { delayMs: 100 + Math.floor(Math.random() * 1_400) }
      : "pass";
    const at = Date.now();
    if (fate !== "pass") this.faults.push({ at, method, drop: fate === "drop", jobIds });
    if (method === "PollJobs") this.#noteOffers(exchange, fate === "drop" ? at : undefined);
    return fate;
  }

  /** The faults of one method: dropped and delayed. */
  count(method: string): string {
    const of = this.faults.filter((f) => f.method === method);
    return `${method} ${of.filter((f) => f.drop).length}/${of.filter((f) => !f.drop).length}`;
  }

  /** Jobs whose blackout of `method` happened. */
  blackedOutJobs(method: string): string[] {
    return [...this.blackouts].filter(([, b]) => b.method === method && b.until > 0).map(([id]) => id);
  }

  #blackedOut(method: string, jobIds: string[]): boolean {
    return jobIds.some((id) => {
      const blackout = this.blackouts.get(id);
      if (blackout?.method !== method) return false;
      blackout.until ||= Date.now() + blackoutMs;
      return Date.now() < blackout.until;
    });
  }

  #noteOffers(exchange: Exchange, lostAt: number | undefined): void {
    for (const offer of pollOffers(exchange)) {
      const seen = this.offers.get(offer.job!.id) ?? [];
      seen.push({
        token: offer.fencingToken,
        claimMs: timestampMs(offer.job!.updateTime!),
        deadlineMs: timestampMs(offer.acceptDeadline!),
        lostAt,
      });
      this.offers.set(offer.job!.id, seen);
    }
  }
}

it(
  "answers lost or delayed after the coordinator acted cost no job: lost offers return to the queue, repeated reports are harmless",
  async () => {
    const started = Date.now();
    const coordinator = await startCoordinatorProcess({ dbPath: rig.database() });
    const policy = new FaultPolicy();
    const proxy = await startLoopbackProxy(coordinator.url, (method, exchange) => policy.decide(method, exchange));
    await Promise.all([1, 2, 3].map(() => rig.launcher({ url: proxy.url, tokens: coordinator.tokens }, { maxConcurrency: 3 })));
    const load = new JobLoad({
      jobs: jobClient(coordinator.url, coordinator.tokens.client),
      total: size.jobs,
      concurrency: 12,
      request: () => rig.job({ count: seqCount, intervalMs: 15 }, { maxAttempts: 10 }),
      onChange: (timeline) => {
        if (timeline.snapshots.length === 0) policy.maybeBlackout(timeline.id);
      },
      signal: AbortSignal.timeout(scenarioTimeoutMs - 10_000),
    });
    await load.run();
    await proxy.close();

    const report = rig.check(coordinator.dbPath, load, seqCount);
    const timeline = (id: string) => load.timelines.get(id)!;
    const endedBy = (t: JobTimeline, at: number) => t.final !== undefined && t.snapshots.at(-1)!.updateMs <= at;
    const drops = policy.faults.filter((f) => f.drop);
    // Recovery: from a lost answer to the next change stored for each job it concerned that had not ended.
    const recoveries = drops.flatMap((f) =>
      f.jobIds.filter((id) => !endedBy(timeline(id), f.at))
        .map((id) => (firstChangeAfter(timeline(id), f.at) ?? Infinity) - f.at)
    );
    // A lost poll answer: the job leaves OFFERED (accepted after the poll was retried, or offered anew).
    const leftOffered = drops.filter((f) => f.method === "PollJobs").flatMap((f) =>
      f.jobIds.map((id) => {
        const next = firstSnapshotAfter(timeline(id), f.at, (s) => s.state !== JobState.OFFERED);
        return next === undefined ? Infinity : next.updateMs - f.at;
      })
    );
    // An offer lost for longer than its deadline is offered again under a new token, once the deadline passed.
    const reoffers = policy.blackedOutJobs("PollJobs").map((id) => {
      const offers = policy.offers.get(id) ?? [];
      const lost = offers.find((o) => o.lostAt !== undefined)!;
      const again = offers.find((o) => o.token !== lost.token);
      return { id, lost, again };
    });
    const retried = [...load.timelines.values()].filter((t) => (t.final?.attempt ?? 0) > 1);
    const orphaned = [...load.timelines.values()]
      .flatMap((t) =>
        t.snapshots.filter((s) => s.error.includes("not in its heartbeat")).map((s) => `${t.id} ${s.attempt}`)
      )
      .filter((key, i, all) => all.indexOf(key) === i).length;
    const early = reoffers.filter((r) => r.again && r.again.claimMs < r.lost.deadlineMs);
    recordScenario("2. Lossy loopback proxy: answers dropped or delayed after the coordinator acted", report, {
      faults: policy.faults.length,
      faultsDetail: `${drops.length} answers dropped and ${policy.faults.length - drops.length} delayed by ` +
        `0.1-1.5 s (dropped/delayed: ${
          ["PollJobs", "AcceptJob", "AppendJobEvents", "FinishJob"].map((m) => policy.count(m)).join(", ")
        }); every answer about the job lost for ${blackoutMs} ms: PollJobs for ` +
        `${policy.blackedOutJobs("PollJobs").length} jobs, AcceptJob for ${policy.blackedOutJobs("AcceptJob").length}`,
      maxRecoveryMs: maxOf(recoveries),
      recovery: "from a dropped answer to the next event or state change stored for each unfinished job it concerned",
      notes: [
        `After a lost poll answer the job left OFFERED within ${maxOf(leftOffered) ?? "-"} ms.`,
        `Offers lost for longer than the accept deadline (2000 ms) were offered again under a new token ` +
        `${maxOf(reoffers.map((r) => (r.again?.claimMs ?? Infinity) - r.lost.lostAt!)) ?? "-"} ms at most after the ` +
        `lost answer, and never before the deadline.`,
        `${retried.length} jobs took more than one attempt (${orphaned} attempts ended LAUNCHER_LOST by the ` +
        "heartbeat check because the launcher, still waiting for its AcceptJob answer, did not list them).",
        `Wall time ${Math.round((Date.now() - started) / 1000)} s.`,
      ],
    });

    expect(report.details).toEqual([]);
    expect(load.created).toHaveLength(size.jobs);
    expect(report.byState, report.unsuccessful.join("\n")).toEqual({ SUCCEEDED: size.jobs });
    expect(recoveries.filter((r) => r === Infinity)).toEqual([]);
    expect(leftOffered.filter((r) => r === Infinity)).toEqual([]);
    expect(reoffers.filter((r) => !r.again).map((r) => r.id), "offers lost for good that were never made again")
      .toEqual([]);
    expect(early.map((r) => r.id), "jobs offered again before the lost offer's deadline").toEqual([]);
    expect(orphaned, "attempts lost because the launcher left an accept in flight out of its heartbeat").toBe(0);
    await coordinator.stop();
  },
  scenarioTimeoutMs,
);
