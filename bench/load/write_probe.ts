// In-process probe: single SQLite write transactions, each one CreateJob as the
// coordinator stores it (coordinator/storage/create_job.ts), timed one by one on a
// fresh database: as configured (WAL; each commit is answered after an fdatasync of the
// WAL, run off the event loop), then without that fsync to show what it costs.
// The database is opened as the coordinator opens it, so WAL checkpoints run as there: in the
// checkpoint thread, with a write waiting now and then for the log to start over.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createJob } from "../../coordinator/storage/create_job.ts";
import { type Db, openDatabase } from "../../coordinator/storage/db/open_database.ts";
import { monoMs } from "../support/clock.ts";
import { emit, parseFlags } from "../support/emit.ts";
import { distribution } from "../support/stats.ts";
import { benchJob } from "../subjects/tether_seed.ts";

const count = Number(parseFlags(process.argv.slice(2)).count);
const dir = mkdtempSync(join(tmpdir(), "tether-bench-writes-"));
const path = join(dir, "tether.db");

async function measure(db: Db): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = monoMs();
    await createJob(db, benchJob({ prompt: "hello", n: i }), Date.now());
    times.push(monoMs() - start);
  }
  return times;
}

const db = await openDatabase(path);
const asConfigured = await measure(db);
await db.destroy();
const relaxed = await openDatabase(path, { fsync: false });
const withoutFsync = await measure(relaxed);
await relaxed.destroy();
emit({ type: "writes", asConfigured: distribution(asConfigured), withoutFsync: distribution(withoutFsync) });
rmSync(dir, { recursive: true, force: true });
process.exit(0);
