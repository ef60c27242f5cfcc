/**
 * Attack 5: a long run of big jobs with retention on: jobs with 200 kB of
 * parameters and 200 kB of events are created and finished without pause,
 * launchers come and go, and the SQLite file (with its -wal) is measured as
 * it goes; with retention deleting what has outlived it, the file must level
 * off. Defence: --retention and --launcher-retention, deleting in short
 * transactions; SQLite reuses the pages freed. The coordinator sweeps every
 * ten minutes or a quarter of the shortest retention, whichever is shorter.
 */
import { statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { echoJob } from "../../tools/support/jobs.ts";
import { LauncherDriver } from "../support/launcher_driver.ts";
import { type AbuseRig, startAbuseRig } from "./abuse_rig.ts";
import { type DetailTable, type LoadRow, mib, recordAttack } from "./abuse_figures.ts";
import { abuseFlags } from "./attack_load.ts";
import { attackTimeoutMs, bySize } from "./abuse_size.ts";
import { lostJobs, underAttack } from "./under_attack.ts";

const retentionMs = bySize(3_000, 20_000);
const runMs = bySize(15_000, 150_000);
const workers = 2;
const jobsPerLauncher = 20;
const payloadBytes = 200_000;
const executor = "abuse-churn";

/** The database's size on disk: the file and its write-ahead log. */
function databaseBytes(db: string): number {
  const size = (path: string) => {
    try {
      return statSync(path).size;
    } catch {
      return 0;
    }
  };
  return size(db) + size(`${db}-wal`);
}

describe("attack 5: a long run of big jobs with retention on", () => {
  let rig: AbuseRig;
  const rows: LoadRow[] = [];
  const sizes: DetailTable = { caption: "The database (file and -wal) through the run", columns: ["Time into the run", "Jobs finished", "Size"], rows: [] };
  const verdicts: string[] = [];
  let finished = 0;
  beforeAll(async () => {
    rig = await startAbuseRig([
      ...abuseFlags,
      "--retention", `${retentionMs}ms`,
      "--launcher-retention", `${retentionMs}ms`,
    ]);
  });
  afterAll(async () => {
    recordAttack({
      attack: "5. A long run with retention on",
      setup: `${workers} clients creating and finishing jobs without pause for ${runMs / 1000} s, each job ` +
        `${payloadBytes / 1000} kB of parameters and ${payloadBytes / 1000} kB of events, a new launcher every ` +
        `${jobsPerLauncher} jobs (the old one deregistered); coordinator run with \`--retention ${retentionMs / 1000}s ` +
        `--launcher-retention ${retentionMs / 1000}s\`, so that it sweeps every ${retentionMs / 4000} s (a quarter ` +
        "of the shortest retention, when that is shorter than ten minutes)",
      defence: "`--retention` (default 30d) and `--launcher-retention` (default 7d): what outlived them is deleted " +
        "in transactions of at most 2,000 events or 100 jobs; SQLite reuses the freed pages",
      rows,
      details: [sizes],
      verdicts,
    });
    await rig?.close();
  });

  /** One client: jobs created, offered, accepted, given their events and finished, until `stopAt`. */
  async function churn(stopAt: number): Promise<void> {
    const prompt = "p".repeat(payloadBytes);
    const events = [{ big: "e".repeat(payloadBytes / 2) }, { big: "e".repeat(payloadBytes / 2) }];
    let launcher = await LauncherDriver.register(rig, { executors: [executor] });
    for (let n = 1; performance.now() < stopAt; n++) {
      const offered = launcher.nextOffer();
      await rig.jobs.createJob({ ...echoJob, executor, parameters: { prompt } });
      const offer = await offered;
      await launcher.accept(offer);
      await launcher.append(offer, 0, events);
      await launcher.succeed(offer);
      finished++;
      if (n % jobsPerLauncher === 0) {
        await launcher.launchers.deregisterLauncher({});
        launcher = await LauncherDriver.register(rig, { executors: [executor] });
      }
    }
    await launcher.launchers.deregisterLauncher({});
  }

  it("deletes what outlived its retention while the file levels off, and keeps what is young", async () => {
    const samples: { atMs: number; finished: number; bytes: number }[] = [];
    const started = performance.now();
    const sample = () => samples.push({ atMs: performance.now() - started, finished, bytes: databaseBytes(rig.db) });
    const { pressure, acknowledged } = await underAttack(rig, async () => {
      const sampler = setInterval(sample, runMs / 50);
      try {
        await Promise.all(Array.from({ length: workers }, () => churn(performance.now() + runMs)));
      } finally {
        clearInterval(sampler);
        sample();
      }
    });
    const { jobs } = await rig.jobs.listJobs({ pageSize: 1000 });
    // Jobs finished within the retention are kept, the older ones were deleted as the run went.
    expect(jobs.length).toBeGreaterThan(0);
    expect(jobs.length).toBeLessThan(finished);
    const young = acknowledged.filter((a) => a.at > Date.now() - retentionMs / 2);
    const lost = await lostJobs(rig, young);
    expect(lost).toEqual([]);
    for (let tenth = 1; tenth <= 10; tenth++) {
      const s = samples.find((x) => x.atMs >= (runMs * tenth) / 10) ?? samples.at(-1)!;
      sizes.rows.push([`${tenth * 10}% (${(s.atMs / 1000).toFixed(0)} s)`, s.finished, `${mib(s.bytes)} MiB`]);
    }
    const mid = samples.find((x) => x.atMs >= runMs / 2) ?? samples[0]!;
    const end = samples.at(-1)!;
    const growth = end.bytes - mid.bytes;
    const share = growth / end.bytes;
    verdicts.push(
      `${finished} jobs finished (${mib(finished * 2 * payloadBytes)} MiB written); ${jobs.length} kept at the end; ` +
        `growth over the last half of the run: ${mib(growth)} MiB (${(share * 100).toFixed(1)}% of the final size): ` +
        (share <= 0.1 ? "levelled off (target met)" : "still growing (target missed)"),
    );
    rows.push({ load: `${finished} big jobs in ${runMs / 1000} s`, pressure, lost: lost.length, answered: "all acknowledged" });
  }, attackTimeoutMs);
});
