/**
 * The abuse suite's section of docs/reliability.md: how its figures were
 * made, the targets, and a table per attack with what each load did to the
 * coordinator and to everyone else, compared with the targets.
 */
import { abuseSection } from "../support/report_sections.ts";
import { type RunFacts, runFactLines } from "../support/run_facts.ts";
import type { AttackLine, DetailTable, LoadRow } from "./abuse_figures.ts";

/** The issue's targets on this machine. */
export const targets = Object.freeze({ rssMiB: 512, stallMs: 100, healthP99Ms: 250 });

function ms(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "-";
  return value < 1_000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(2)} s`;
}

/** "met", or what missed and by how much. */
export function verdict(row: LoadRow): string {
  const p = row.pressure;
  const missed = [
    p.peakRssMiB > targets.rssMiB ? `RSS by ${Math.round(p.peakRssMiB - targets.rssMiB)} MiB` : "",
    p.maxStallMs > targets.stallMs ? `stall by ${ms(p.maxStallMs - targets.stallMs)}` : "",
    p.health.p99Ms > targets.healthP99Ms ? `health p99 by ${ms(p.health.p99Ms - targets.healthP99Ms)}` : "",
    p.health.failed > 0 ? `${p.health.failed} health probes failed` : "",
  ].filter(Boolean);
  return missed.length === 0 ? "met" : `missed: ${missed.join("; ")}`;
}

function loadTable(rows: readonly LoadRow[]): string[] {
  return [
    "| Load | Time | Peak RSS | Longest stall (p99) | Health p50 / p99 / max (n) | Dispatch p50 / p99 / max (n) | Lost | Answered | Targets |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ...rows.map((r) => {
      const p = r.pressure;
      return `| ${r.load} | ${ms(p.wallMs)} | ${Math.round(p.peakRssMiB)} MiB | ${ms(p.maxStallMs)} (${ms(p.p99StallMs)}) | ` +
        `${ms(p.health.p50Ms)} / ${ms(p.health.p99Ms)} / ${ms(p.health.maxMs)} (${p.health.n}) | ` +
        `${ms(p.dispatch.p50Ms)} / ${ms(p.dispatch.p99Ms)} / ${ms(p.dispatch.maxMs)} (${p.dispatch.n}` +
        `${p.dispatch.failed ? `, ${p.dispatch.failed} failed` : ""}) | ${r.lost} | ${r.answered} | ${verdict(r)} |`;
    }),
  ];
}

function detailTable(table: DetailTable): string[] {
  return [
    "",
    `${table.caption}:`,
    "",
    `| ${table.columns.join(" | ")} |`,
    `| ${table.columns.map(() => "---").join(" | ")} |`,
    ...table.rows.map((row) => `| ${row.join(" | ")} |`),
  ];
}

/** One attack: its setup, its defence, its tables and how its own targets fared. */
export function attackSection(line: AttackLine): string {
  return [
    `### ${line.attack}`,
    "",
    `Setup: ${line.setup}.`,
    "",
    `Defence: ${line.defence}.`,
    "",
    ...loadTable(line.rows),
    ...(line.details ?? []).flatMap(detailTable),
    ...(line.verdicts?.length ? ["", ...line.verdicts.map((v) => `- ${v}`)] : []),
    "",
  ].join("\n");
}

/** Attacks in the issue's order. */
export function byAttack(lines: readonly AttackLine[]): AttackLine[] {
  return [...lines].sort((a, b) => parseInt(a.attack) - parseInt(b.attack));
}

/** The whole section, between its markers. */
export function abuseReport(lines: readonly AttackLine[], facts: RunFacts): string {
  return [
    abuseSection.start,
    "## Hostile load: figures from the abuse suite",
    "",
    "The abuse suite (`test/abuse/`) repeats the hostile loads below against a real coordinator process",
    "(`coordinator/main.ts`, SQLite) on 127.0.0.1, one attack at a time, bounded in count and time. While each",
    "runs it measures the coordinator's peak resident memory (VmRSS from `/proc`, every 100 ms), its longest",
    "event-loop stall (`monitorEventLoopDelay` in a preload, `test/abuse/loop_monitor.ts`, beyond its 10 ms",
    "sampling period), and, from a probe process of its own (`test/abuse/probe_process.ts`), the latency of a",
    "health probe (`GET /healthz` on a new connection every 50 ms) and a normal job's dispatch (CreateJob until",
    "the offer reaches a launcher's held poll, one job at a time). Tests assert only what is not wall time:",
    "every over-limit request refused and nothing of it stored, every slow connection closed, no acknowledged",
    "job lost; the times are figures, compared here with the targets.",
    "",
    `Targets on this machine: no attack raises RSS past ${targets.rssMiB} MiB, stalls the event loop past ` +
    `${targets.stallMs} ms, or pushes the health probe's p99 past ${targets.healthP99Ms} ms; slow connections are ` +
    "closed within their deadline plus a second; with retention on, the database stops growing.",
    "",
    "### How these figures were produced",
    "",
    ...runFactLines(facts, ms),
    "",
    "Columns: **Time** is the attack's own length (the window measured); **Longest stall (p99)** the longest",
    "event-loop delay and the 99th percentile of its 10 ms samples; **Health** and **Dispatch** are p50 / p99 / max",
    "with the number of probes; **Lost** counts probe jobs CreateJob acknowledged that GetJob no longer finds.",
    "",
    ...byAttack(lines).map(attackSection),
    abuseSection.end,
  ].join("\n");
}
