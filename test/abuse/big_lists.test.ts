/**
 * Attack 3: the list RPCs at their largest page over a database of big
 * rows: ListJobs of 1,000 jobs with 200 kB parameters each (the default
 * view, the full view, and as a Connect GET), and ListLaunchers of 1,000
 * launchers with 64 long labels each. Defence: a page holds at most 1,000
 * rows, read in chunks with a turn of the event loop between them; a full
 * ListJobs page ends early at about 1 MiB, a ListLaunchers page at about
 * 1 MiB of labels; and the default view leaves parameters and results out.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobView } from "../../gen/tether/v1/job_service_pb.ts";
import { echoJob } from "../../tools/support/jobs.ts";
import { LauncherDriver } from "../support/launcher_driver.ts";
import { type AbuseRig, startAbuseRig } from "./abuse_rig.ts";
import { type LoadRow, recordAttack } from "./abuse_figures.ts";
import { abuseFlags } from "./attack_load.ts";
import { attackTimeoutMs, bySize } from "./abuse_size.ts";
import { lostJobs, underAttack } from "./under_attack.ts";

const jobs = bySize(60, 3_000);
const launchers = bySize(100, 2_000);
const concurrent = 4;
const rounds = 3;
const parameterBytes = 200_000;
/** Nobody offers it: the jobs stay queued (and listed) all through the attack. */
const unmatched = "abuse-nobody";

/** Runs `count` calls of `make`, `parallel` at a time. */
async function inParallel(count: number, parallel: number, make: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < count) await make(next++);
  }));
}

describe("attack 3: the largest pages of the list RPCs over big rows", () => {
  let rig: AbuseRig;
  const rows: LoadRow[] = [];
  const seeded: string[] = [];
  beforeAll(async () => {
    rig = await startAbuseRig([...abuseFlags]);
    const prompt = "p".repeat(parameterBytes);
    await inParallel(jobs, 4, async () => {
      const { job } = await rig.jobs.createJob({ ...echoJob, parameters: { prompt }, executor: unmatched, matchTimeout: { seconds: 3_600n } });
      seeded.push(job!.id);
    });
    const value = "v".repeat(256);
    const labels = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`label-${i}`, value]));
    await inParallel(launchers, 8, (i) => LauncherDriver.register(rig, { name: `abuse-listed-${i}`, labels }));
  }, attackTimeoutMs);
  afterAll(async () => {
    recordAttack({
      attack: "3. Largest pages over big rows",
      setup: `${jobs.toLocaleString("en")} queued jobs with ${parameterBytes / 1000} kB of parameters each and ` +
        `${launchers.toLocaleString("en")} launchers with 64 labels of 256 characters each; ${concurrent} requests at ` +
        `once with \`pageSize: 1000\`, ${rounds} times over; default flags`,
      defence: "a page holds at most 1,000 rows, read in chunks with a turn of the event loop between them; a " +
        "`JOB_VIEW_FULL` page ends early at about 1 MiB of parameters and results, a `ListLaunchers` page at about " +
        "1 MiB of labels and executors; `ListJobs` leaves parameters and results out unless `view: JOB_VIEW_FULL` asks",
      rows,
    });
    await rig?.close();
  });

  /** `concurrent` calls at once, `rounds` times; says what came back. */
  async function attack(call: () => Promise<Response>): Promise<string> {
    const answers: string[] = [];
    for (let round = 0; round < rounds; round++) {
      answers.push(...await Promise.all(Array.from({ length: concurrent }, async () => {
        const res = await call();
        const body = await res.text();
        const listed = res.status === 200 ? JSON.parse(body) as { jobs?: unknown[]; launchers?: unknown[] } : {};
        const count = (listed.jobs ?? listed.launchers ?? []).length;
        return `${res.status}, ${count} rows, ${(body.length / 2 ** 20).toFixed(1)} MiB`;
      })));
    }
    const counts = new Map<string, number>();
    for (const a of answers) counts.set(a, (counts.get(a) ?? 0) + 1);
    return [...counts].map(([what, n]) => `${n} × ${what}`).join("; ");
  }

  function post(path: string, token: string, message: object): () => Promise<Response> {
    return () =>
      fetch(`${rig.url}/${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify(message),
      });
  }

  function connectGet(path: string, token: string, message: object): () => Promise<Response> {
    const query = new URLSearchParams({ connect: "v1", encoding: "json", message: JSON.stringify(message) });
    return () => fetch(`${rig.url}/${path}?${query}`, { headers: { authorization: `Bearer ${token}` } });
  }

  const loads = [
    { load: "ListJobs, default view", call: () => post("tether.v1.JobService/ListJobs", rig.tokens.client, { pageSize: 1000 }) },
    {
      load: "ListJobs, JOB_VIEW_FULL",
      call: () => post("tether.v1.JobService/ListJobs", rig.tokens.client, { pageSize: 1000, view: "JOB_VIEW_FULL" }),
    },
    {
      load: "ListJobs as Connect GET, JOB_VIEW_FULL",
      call: () => connectGet("tether.v1.JobService/ListJobs", rig.tokens.client, { pageSize: 1000, view: "JOB_VIEW_FULL" }),
    },
    {
      load: "ListLaunchers",
      call: () => post("tether.v1.OperatorService/ListLaunchers", rig.tokens.admin, { pageSize: 1000 }),
    },
  ];
  for (const { load, call } of loads) {
    it(`answers ${load} at its largest page and keeps every job`, async () => {
      const { value: answered, pressure, acknowledged } = await underAttack(rig, () => attack(call()));
      expect(answered).toMatch(/^\d+ × 200,/);
      const lost = await lostJobs(rig, acknowledged);
      expect(lost).toEqual([]);
      rows.push({ load, pressure, lost: lost.length, answered });
    }, attackTimeoutMs);
  }

  it("still lists every job it acknowledged, a page at a time", async () => {
    const listed = new Set<string>();
    let pageToken = "";
    do {
      const page = await rig.jobs.listJobs({ pageSize: 1000, pageToken, view: JobView.BASIC });
      for (const job of page.jobs) listed.add(job.id);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(seeded.filter((id) => !listed.has(id))).toEqual([]);
  });
});
