// In-process probe: single SQLite write transactions, each one CreateJob as the
// coordinator stores it (coordinator/storage/create_job.ts), timed one by one on a
// fresh database: as configured (WAL, synchronous=FULL: each commit fsyncs the WAL),
// then with synchronous=OFF on the probe's connection to show what the fsync costs.
// Checkpoints of the WAL happen inside these transactions, as in the coordinator.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { createJob } from "../../coordinator/storage/create_job.ts";
import { openDatabase } from "../../coordinator/storage/open_database.ts";
import { monoMs } from "../support/clock.ts";
import { emit, parseFlags } from "../support/emit.ts";
import { distribution } from "../support/stats.ts";
import { benchJob } from "../subjects/tether_seed.ts";

const count = Number(parseFlags(process.argv.slice(2)).count);
const dir = mkdtempSync(join(tmpdir(), "tether-bench-writes-"));
const db = await openDatabase(join(dir, "tether.db"));

async function measure(): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = monoMs();
    await createJob(db, benchJob({ prompt: "hello", n: i }), Date.now());
    times.push(monoMs() - start);
  }
  return times;
}

const asConfigured = await measure();
await sql`PRAGMA synchronous = OFF`.execute(db);
const withoutFsync = await measure();
emit({ type: "writes", asConfigured: distribution(asConfigured), withoutFsync: distribution(withoutFsync) });
await db.destroy();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
