// In-process probe: the claim statement itself (coordinator/storage/claim_jobs.ts),
// called directly, one job per claim, with `--queued` jobs in the queue. Measured as
// the coordinator runs it (SQLite: an offer's commit does not wait for an fsync, by
// design; PostgreSQL synchronous_commit=on: every claim's commit waits for the disk)
// and again with the fsync switched off for the probe's connection, which leaves the
// statement's own cost.
import { randomUUID } from "node:crypto";
import { hashSecret, newSecret } from "../../coordinator/auth/secrets.ts";
import { claimJobs } from "../../coordinator/storage/claim_jobs.ts";
import { registerLauncher } from "../../coordinator/storage/register_launcher.ts";
import { isPostgresUrl, openDatabase, type Db } from "../../coordinator/storage/db/open_database.ts";
import type { LauncherRow } from "../../coordinator/storage/db/rows.ts";
import { monoMs } from "../support/clock.ts";
import { emit, parseFlags } from "../support/emit.ts";
import { distribution } from "../support/stats.ts";
import { seedTetherJobs } from "../subjects/tether_seed.ts";

const flags = parseFlags(process.argv.slice(2));
const url = flags.db!;
const claims = Number(flags.claims);
await seedTetherJobs(url, Number(flags.queued));

async function measure(db: Db, launcher: LauncherRow): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < claims + 100; i++) {
    const start = monoMs();
    const { value: rows } = await claimJobs(
      db,
      { launcher, pollId: randomUUID(), limit: 1, acceptTimeoutMs: 15_000, credentialHash: launcher.credential_hash },
      Date.now(),
    );
    if (i >= 100) times.push(monoMs() - start);
    if (rows.length !== 1) throw new Error(`claim ${i} returned ${rows.length} jobs`);
  }
  return times;
}

const db = await openDatabase(url);
const policy = { retryBackoffMs: 1_000, retryBackoffMaxMs: 300_000, leaseMs: 3_600_000 };
const { value: { launcher } } = await registerLauncher(db, {
  name: "claim-probe", hostname: "bench-host", labels: {}, executors: ["echo"], maxConcurrency: 1000,
  version: "bench", instanceId: randomUUID(),
  // The probe claims through storage and never calls an RPC: a credential nobody holds, and no token behind it.
  credentialHash: hashSecret(newSecret()),
  by: { tokenId: "bench-claim-probe", admin: false },
}, policy, Date.now());
const asConfigured = await measure(db, launcher);
let relaxed = db;
if (isPostgresUrl(url)) relaxed = await openDatabase(`${url}?options=-c%20synchronous_commit%3Doff`);
else relaxed = await openDatabase(url, { fsync: false });
const withoutFsync = await measure(relaxed, launcher);
emit({ type: "claims", asConfigured: distribution(asConfigured), withoutFsync: distribution(withoutFsync) });
await db.destroy();
if (relaxed !== db) await relaxed.destroy();
process.exit(0);
