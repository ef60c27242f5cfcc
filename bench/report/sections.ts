import type { BenchResults } from "./results.ts";

/** One table of the report: the same rows go to the terminal and to docs/benchmarks.md. */
export interface Section {
  title: string;
  header: string[];
  rows: string[][];
}

const ms = (n: number | null) => (n === null || Number.isNaN(n) ? "-" : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0));
const num = (n: number) => Math.round(n).toLocaleString("en-US");
const validity = (r: { valid: boolean; why: string }) => (r.valid ? "ok" : `INVALID: ${r.why}`);

export function sections(r: BenchResults): Section[] {
  const out: Section[] = [];
  if (r.dispatch.length) {
    out.push({
      title: `Dispatch latency, ms (job sent -> a waiting consumer's fetch returns it; ${r.dispatch[0]!.pollers} idle consumers)`,
      header: ["system", "offered/s", "achieved/s", "n", "p50", "p90", "p99", "max", "load1", "valid"],
      rows: r.dispatch.map((d) => [
        d.label, num(d.rate), num(d.achievedRate), num(d.latency.n), ms(d.latency.p50), ms(d.latency.p90),
        ms(d.latency.p99), ms(d.latency.max), d.load1.toFixed(2), validity(d),
      ]),
    });
  }
  if (r.throughput.length) {
    out.push({
      title: "End-to-end throughput, burning down pre-created jobs",
      header: ["system", "mode", "consumers x batch", "jobs", "seconds", "jobs/s", "load1", "note"],
      rows: r.throughput.map((t) => [
        t.label, t.mode, `${t.consumers} x ${t.batch}`, num(t.jobs), t.seconds.toFixed(2), num(t.jobsPerSecond),
        t.load1.toFixed(2), t.valid ? t.why || "-" : `INVALID: ${t.why || "no job finished"}`,
      ]),
    });
  }
  if (r.idlePolls.length) {
    out.push({
      title: "Held long polls (tether)",
      header: ["backend", "polls", "source addrs", "RSS before MiB", "RSS held MiB", "polls/GiB added", "polls/GiB total", "answer all ms", "valid"],
      rows: r.idlePolls.map((p) => [
        p.subject, num(p.polls), String(p.addresses), p.rssBeforeMiB.toFixed(0), p.rssHeldMiB.toFixed(0),
        num(p.pollsPerGiB), num(p.pollsPerGiBTotal), num(p.answerAllMs), validity(p),
      ]),
    });
  }
  if (r.idleCost.length) {
    out.push({
      title: `Idle cost, empty queue (${r.idleCost[0]!.consumers} idle consumers, ${r.idleCost[0]!.windowSeconds.toFixed(0)} s window)`,
      header: ["system", "statements/s", "PG xacts/s", "server CPU %", "consumer CPU %", "load1"],
      rows: r.idleCost.map((c) => [
        c.label, c.queriesPerSecond.toFixed(1), c.transactionsPerSecond === null ? "-" : c.transactionsPerSecond.toFixed(1),
        c.serverCpuPercent.toFixed(1), c.clientCpuPercent.toFixed(1), c.load1.toFixed(2),
      ]),
    });
  }
  const breakdown = r.idleCost.filter((c) => c.subject.startsWith("tether") && c.top.length > 0);
  if (breakdown.length) {
    out.push({
      title: "Idle cost of tether by statement (per second, during the window)",
      header: ["backend", "statement", "per second"],
      rows: breakdown.flatMap((c) => c.top.map(([sql, rate]) => [c.label, sql.slice(0, 70), rate.toFixed(1)])),
    });
  }
  if (r.claim.length) {
    out.push({
      title: "Claim statement (in-process, one job per claim), ms",
      header: ["backend", "queued", "claims", "p50", "p99", "max", "p50 no fsync", "p99 no fsync", "max no fsync"],
      rows: r.claim.map((c) => [
        c.backend, num(c.queued), num(c.claims), ms(c.asConfigured.p50), ms(c.asConfigured.p99), ms(c.asConfigured.max),
        ms(c.withoutFsync.p50), ms(c.withoutFsync.p99), ms(c.withoutFsync.max),
      ]),
    });
  }
  if (r.writes.length) {
    out.push({
      title: "SQLite single write transactions (CreateJob's), ms",
      header: ["fsync", "transactions", "p50", "p99", "p99.9", "max"],
      rows: r.writes.flatMap((w) => [
        ["as shipped: WAL synced before the answer", num(w.transactions), ms(w.asConfigured.p50), ms(w.asConfigured.p99), ms(w.asConfigured.p999), ms(w.asConfigured.max)],
        ["without the fsync (its cost)", num(w.transactions), ms(w.withoutFsync.p50), ms(w.withoutFsync.p99), ms(w.withoutFsync.p999), ms(w.withoutFsync.max)],
      ]),
    });
  }
  if (r.failures.length) out.push({ title: "Suites that FAILED", header: ["failure"], rows: r.failures.map((f) => [f]) });
  const targets = targetRows(r);
  if (targets.length) out.push({ title: "Targets (issue 6)", header: ["target", "measured", "met"], rows: targets });
  return out;
}

function targetRows(r: BenchResults): string[][] {
  const rows: string[][] = [];
  const yes = (ok: boolean, valid = true) => (!valid ? "INVALID run" : ok ? "met" : "MISSED");
  for (const d of r.dispatch.filter((d) => d.subject === "tether-sqlite")) {
    rows.push([
      `SQLite dispatch at ${d.rate}/s: p50 <= 1 ms, p99 <= 5 ms`, `p50 ${ms(d.latency.p50)}, p99 ${ms(d.latency.p99)}`,
      yes(d.latency.p50 <= 1 && d.latency.p99 <= 5, d.valid),
    ]);
  }
  for (const d of r.dispatch.filter((d) => d.subject === "tether-pg")) {
    const peer = r.dispatch.find((g) => g.subject === "graphile-worker" && g.rate === d.rate);
    if (!peer) continue;
    rows.push([
      `PostgreSQL dispatch at ${d.rate}/s: no worse than graphile-worker`,
      `p50 ${ms(d.latency.p50)} vs ${ms(peer.latency.p50)}, p99 ${ms(d.latency.p99)} vs ${ms(peer.latency.p99)}`,
      yes(d.latency.p50 <= peer.latency.p50 && d.latency.p99 <= peer.latency.p99, d.valid && peer.valid),
    ]);
  }
  const tp = (subject: string, mode: string) => r.throughput.find((t) => t.subject === subject && t.mode === mode);
  const ratio = (subject: string, mode: string, factor: number, what: string) => {
    const ours = tp(subject, mode);
    const peer = tp("graphile-worker", mode);
    if (!ours || !peer) return;
    const x = ours.jobsPerSecond / peer.jobsPerSecond;
    rows.push([what, `${num(ours.jobsPerSecond)} vs ${num(peer.jobsPerSecond)} jobs/s (${x.toFixed(2)}x)`, yes(x >= factor)]);
  };
  ratio("tether-sqlite", "one per poll", 3, "SQLite throughput >= 3x graphile-worker, one per poll");
  ratio("tether-pg", "one per poll", 1, "PostgreSQL throughput >= 1x graphile-worker, one per poll");
  ratio("tether-sqlite", "batched", 0.5, "SQLite batched >= 0.5x graphile-worker batched");
  ratio("tether-pg", "batched", 0.5, "PostgreSQL batched >= 0.5x graphile-worker batched");
  for (const p of r.idlePolls) {
    rows.push([`${p.subject}: >= 40k held polls per GiB (at ${num(p.polls)})`, `${num(p.pollsPerGiB)} per GiB added`, yes(p.pollsPerGiB >= 40_000, p.valid)]);
  }
  for (const c of r.idleCost.filter((c) => c.subject.startsWith("tether"))) {
    rows.push([`${c.label}: effectively zero statements with ${c.consumers} idle launchers`, `${c.queriesPerSecond.toFixed(1)}/s`, yes(c.queriesPerSecond <= 1)]);
  }
  for (const c of r.claim) {
    rows.push([`${c.backend}: claim p99 <= 0.25 ms at ${num(c.queued)} queued`, `${ms(c.asConfigured.p99)} (no fsync: ${ms(c.withoutFsync.p99)})`, yes(c.asConfigured.p99 <= 0.25)]);
  }
  for (const w of r.writes) {
    rows.push(["SQLite write transaction p99.9 <= 2 ms", `${ms(w.asConfigured.p999)} (no fsync: ${ms(w.withoutFsync.p999)})`, yes(w.asConfigured.p999 <= 2)]);
  }
  return rows;
}
