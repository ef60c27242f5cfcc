import type { BenchResults } from "./results.ts";
import { sections } from "./sections.ts";

/** Prints every section as an aligned text table, with the machine's state. */
export function printTables(r: BenchResults): void {
  const m = r.machineAtStart;
  const lines = [
    "",
    `tether benchmarks (${r.mode}), ${r.startedAt}, ${r.seconds.toFixed(0)} s; ${m.cpus} x ${m.cpuModel}, ${m.memGiB} GiB, Node ${m.node}`,
    `load average at start ${m.loadAvg.join(" ")}, at end ${r.machineAtEnd.loadAvg.join(" ")}`,
  ];
  for (const s of sections(r)) {
    lines.push("", s.title);
    const widths = s.header.map((h, i) => Math.max(h.length, ...s.rows.map((row) => (row[i] ?? "").length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
    lines.push(line(s.header), widths.map((w) => "-".repeat(w)).join("  "), ...s.rows.map(line));
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}
