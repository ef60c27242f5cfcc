import { afterEach, describe, expect, it } from "vitest";
import { ConnectError } from "@connectrpc/connect";
import { JobView } from "../../gen/tether/v1/job_service_pb.ts";
import { echoJob } from "../../tools/support/jobs.ts";
import { LauncherDriver } from "../support/launcher_driver.ts";
import { startTestCoordinator, type TestCoordinator } from "../support/test_coordinator.ts";

describe("lists, a page at a time", () => {
  let t: TestCoordinator;
  afterEach(() => t.close());

  it("leave a job's parameters and result out unless the full view is asked for", async () => {
    t = await startTestCoordinator();
    const { job } = await t.jobs.createJob({ ...echoJob, parameters: { prompt: "hello" } });
    const [basic] = (await t.jobs.listJobs({})).jobs;
    expect(basic!.id).toBe(job!.id);
    expect(basic!.parameters).toBeUndefined();
    const [full] = (await t.jobs.listJobs({ view: JobView.FULL })).jobs;
    expect(full!.parameters).toEqual({ prompt: "hello" });
    expect((await t.jobs.getJob({ id: job!.id })).job!.parameters).toEqual({ prompt: "hello" });
    await expect(t.jobs.listJobs({ view: 7 as JobView })).rejects.toThrow(/view must be one of JOB_VIEW_BASIC, JOB_VIEW_FULL; got 7/);
  });

  it("end a full page early once its jobs take about 1 MiB, and go on from there", async () => {
    t = await startTestCoordinator();
    const prompt = "p".repeat(200_000);
    const created: string[] = [];
    for (let i = 0; i < 9; i++) created.push((await t.jobs.createJob({ ...echoJob, parameters: { prompt } })).job!.id);
    const first = await t.jobs.listJobs({ view: JobView.FULL });
    // 1 MiB holds five such jobs (200,013 characters of parameters each); the sixth crosses it and ends the page.
    expect(first.jobs).toHaveLength(6);
    expect(first.nextPageToken).not.toBe("");
    const second = await t.jobs.listJobs({ view: JobView.FULL, pageToken: first.nextPageToken });
    expect(second.jobs).toHaveLength(3);
    expect([...first.jobs, ...second.jobs].map((j) => j.id)).toEqual(created.reverse());
    expect(second.jobs[0]!.parameters).toEqual({ prompt });
    // The basic view takes them all in one page.
    expect((await t.jobs.listJobs({})).jobs).toHaveLength(9);
  });

  it("end a full page early once its jobs hold twice --max-request-entries, at least one job a page", async () => {
    t = await startTestCoordinator({ maxRequestEntries: 1000 });
    // 600 entries each (a key and 599 elements): three jobs fit in 2,000, the fourth crosses it.
    const parameters = { items: new Array(599).fill(0) };
    for (let i = 0; i < 5; i++) await t.jobs.createJob({ ...echoJob, parameters });
    const first = await t.jobs.listJobs({ view: JobView.FULL });
    expect(first.jobs).toHaveLength(3);
    expect(first.jobs[2]!.parameters).toEqual(parameters);
    const second = await t.jobs.listJobs({ view: JobView.FULL, pageToken: first.nextPageToken });
    expect(second.jobs).toHaveLength(2);
    expect(second.nextPageToken).toBe("");
    // Restarted with a lower limit, a job over the budget alone still makes a page.
    await t.stop();
    const lower = await startTestCoordinator({ maxRequestEntries: 250 }, t.dbPath);
    try {
      const alone = await lower.jobs.listJobs({ view: JobView.FULL, pageSize: 3 });
      expect(alone.jobs).toHaveLength(1);
      expect(alone.nextPageToken).not.toBe("");
    } finally {
      await lower.stop();
    }
  });

  it("end a launchers' page early once their labels take about 1 MiB", async () => {
    t = await startTestCoordinator();
    // About 17 KB of labels each: sixty-one fit under 1 MiB, the sixty-second crosses it and ends the page.
    const labels = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`label-${i}`, "v".repeat(256)]));
    for (let i = 0; i < 80; i++) await LauncherDriver.register(t, { name: `l-${String(i).padStart(2, "0")}`, labels });
    const first = await t.operator.listLaunchers({ pageSize: 1000 });
    expect(first.launchers.length).toBeGreaterThan(50);
    expect(first.launchers.length).toBeLessThan(70);
    expect(first.nextPageToken).not.toBe("");
    const second = await t.operator.listLaunchers({ pageSize: 1000, pageToken: first.nextPageToken });
    expect(second.nextPageToken).toBe("");
    expect([...first.launchers, ...second.launchers].map((l) => l.name)).toEqual(
      Array.from({ length: 80 }, (_, i) => `l-${String(i).padStart(2, "0")}`),
    );
  });

  it("page launchers by host and name", async () => {
    t = await startTestCoordinator();
    const names = ["e", "d", "c", "b", "a"];
    for (const name of names) await LauncherDriver.register(t, { name, hostname: "h" });
    const seen: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const page = await t.operator.listLaunchers({ pageSize: 2, pageToken });
      expect(page.launchers.length).toBeLessThanOrEqual(2);
      seen.push(...page.launchers.map((l) => l.name));
      pageToken = page.nextPageToken;
      pages++;
    } while (pageToken !== "");
    expect(seen).toEqual([...names].sort());
    expect(pages).toBe(3);
    const refused = await t.operator.listLaunchers({ pageToken: "bm90LW91cnM" }).catch((e) => ConnectError.from(e));
    expect(String(refused)).toMatch(/pageToken is not one this server issued/);
  });
});
