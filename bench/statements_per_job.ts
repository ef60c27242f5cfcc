// Statements per job, and the time SQLite spent in each, for finding where a
// burn-down's time goes: starts a coordinator with the counting preload, seeds
// N jobs, burns them down with 8 launchers (one process), and prints the
// statements of the burn-down per job, slowest first.
//
//   node --import tsx bench/statements_per_job.ts "" 3000 1            # SQLite, 3,000 jobs, one per poll
//   node --import tsx bench/statements_per_job.ts postgres://... 3000 16  # PostgreSQL (a fresh database), batches of 16
import { startTetherServer } from "./subjects/tether_server.ts";
import { seed, startConsumer } from "./suites/load_processes.ts";
import { monoMs } from "./support/clock.ts";
const pg = process.argv[2] || undefined;
const n = Number(process.argv[3] ?? 3000);
const batch = Number(process.argv[4] ?? 1);
const server = await startTetherServer(pg ? { db: pg } : {});
const target = server.target;
await seed(target, n);
const before = await server.queries();
const consumer = await startConsumer(target, { pollers: 8, batch, expect: n });
const drained = await consumer.child.waitFor((m) => m.type === "drained", "drained", 300_000);
const secs = (Number(drained.at) - (consumer.firstAt ?? 0)) / 1000;
const after = await server.queries();
console.log(`${n} jobs, batch ${batch}: jobs/s`, (n / secs).toFixed(0), "statements/job", ((after.total - before.total) / n).toFixed(2));
const earlier = new Map(before.slowest.map(([sql, count, ms]) => [sql, { count, ms }]));
for (const [sql, count, ms] of after.slowest) {
  const was = earlier.get(sql) ?? { count: 0, ms: 0 };
  const runs = count - was.count;
  const spent = ms - was.ms;
  console.log((runs / n).toFixed(2), "per job", ((spent / (runs || 1)) * 1000).toFixed(0), "us each", spent, "ms", sql);
}
await consumer.stop();
await server.stop();
process.exit(0);
