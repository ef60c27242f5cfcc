import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { JobState } from "../../gen/tether/v1/job_pb.ts";
import { echoJob, echoJobWith } from "../../tools/support/jobs.ts";
import { LauncherDriver } from "../support/launcher_driver.ts";
import { startTestCoordinator, type TestCoordinator, until } from "../support/test_coordinator.ts";
import { heldPolls } from "../support/held_polls.ts";

describe("PollJobs long poll", () => {
  let t: TestCoordinator;
  beforeEach(async () => {
    t = await startTestCoordinator({ pollHoldMs: 400 });
  });
  afterEach(() => t.close());

  it("holds a poll with no work until the hold ends, then answers empty", async () => {
    const l = await LauncherDriver.register(t);
    const poll = l.poll();
    await heldPolls(t.coordinator, 1, "the poll to be held");
    const answer = await poll;
    expect(answer.offers).toEqual([]);
    expect(answer.cancelJobIds).toEqual([]);
    expect(t.coordinator.engine.dispatcher.size).toBe(0);
  });

  it("answers before the client's deadline when that is shorter than the server's hold", async () => {
    await t.close();
    t = await startTestCoordinator({ pollHoldMs: 30_000 });
    const l = await LauncherDriver.register(t);
    // A deadline error would reject; an answer in time resolves empty. The server answers a tenth of the
    // deadline early (at most its margin of 1 s): 500 ms of room for a loaded machine to deliver it.
    const answer = await l.poll({ timeoutMs: 5_000 });
    expect(answer.offers).toEqual([]);
  });

  it("hands a job created while a poller waits directly to that poller", async () => {
    await t.close();
    t = await startTestCoordinator({ pollHoldMs: 30_000 });
    const l = await LauncherDriver.register(t);
    const poll = l.poll();
    await heldPolls(t.coordinator, 1, "the poll to be held");
    const { job } = await t.jobs.createJob(echoJob);
    const answer = await poll;
    expect(answer.offers.map((o) => o.job!.id)).toEqual([job!.id]);
    expect(answer.offers[0]!.job!.state).toBe(JobState.OFFERED);
  });

  it("wakes one poller per job, not all of them", async () => {
    await t.close();
    t = await startTestCoordinator({ pollHoldMs: 30_000 });
    const launchers = await Promise.all([1, 2, 3].map(() => LauncherDriver.register(t)));
    const controllers = launchers.map(() => new AbortController());
    const answered: string[] = [];
    const polls = launchers.map((l, i) =>
      l.poll({ signal: controllers[i]!.signal }).then((a) => {
        answered.push(l.id);
        return a;
      }, () => null)
    );
    await heldPolls(t.coordinator, 3, "three held polls");
    await t.jobs.createJob(echoJob);
    await until(() => answered.length === 1, "one poll to be answered");
    // The other two are still held: nobody else was woken for that job.
    await new Promise((r) => setImmediate(r));
    expect(t.coordinator.engine.dispatcher.size).toBe(2);
    for (const c of controllers) c.abort();
    const results = await Promise.all(polls);
    expect(results.filter((r) => r !== null && r.offers.length === 1)).toHaveLength(1);
  });

  it("never offers more jobs than the free slots the launcher declared", async () => {
    for (let i = 0; i < 5; i++) await t.jobs.createJob(echoJobWith({ prompt: `p${i}` }));
    const l = await LauncherDriver.register(t, { maxConcurrency: 10 });
    expect((await l.poll({ freeSlots: 2 })).offers).toHaveLength(2);
    expect((await l.poll({ freeSlots: 0 })).offers).toHaveLength(0);
    expect((await l.poll({ freeSlots: 10 })).offers).toHaveLength(3);
  });

  it("caps offers at the launcher's registered concurrency", async () => {
    for (let i = 0; i < 3; i++) await t.jobs.createJob(echoJobWith({ prompt: `p${i}` }));
    const l = await LauncherDriver.register(t, { maxConcurrency: 1 });
    expect((await l.poll({ freeSlots: 5 })).offers).toHaveLength(1);
  });

  it("gives a poll retried with the same pollId the same outstanding offers", async () => {
    await t.jobs.createJob(echoJobWith({ prompt: "a" }));
    await t.jobs.createJob(echoJobWith({ prompt: "b" }));
    const l = await LauncherDriver.register(t);
    const first = await l.poll({ pollId: "poll-1", freeSlots: 2 });
    const retried = await l.poll({ pollId: "poll-1", freeSlots: 2 });
    expect(retried.offers.map((o) => [o.job!.id, o.fencingToken])).toEqual(
      first.offers.map((o) => [o.job!.id, o.fencingToken]),
    );
    expect(first.offers).toHaveLength(2);
  });

  it("claims nothing for a client that went away", async () => {
    await t.close();
    t = await startTestCoordinator({ pollHoldMs: 30_000 });
    const gone = await LauncherDriver.register(t);
    const controller = new AbortController();
    const poll = gone.poll({ signal: controller.signal });
    await heldPolls(t.coordinator, 1, "the poll to be held");
    controller.abort();
    await expect(poll).rejects.toBeInstanceOf(ConnectError);
    await heldPolls(t.coordinator, 0, "the server to drop the wait");
    const { job } = await t.jobs.createJob(echoJob);
    expect((await t.jobs.getJob({ id: job!.id })).job!.state).toBe(JobState.QUEUED);
    const other = await LauncherDriver.register(t);
    expect((await other.poll()).offers.map((o) => o.job!.id)).toEqual([job!.id]);
  });

  it("refuses a credential of an unregistered launcher, saying where credentials come from", async () => {
    const unknown = t.launcherClient(`thl_lnch_${"0".repeat(20)}.${"a".repeat(43)}`);
    const err = await unknown.pollJobs({ pollId: "p", freeSlots: 1 }).catch((e) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Unauthenticated);
    expect((err as ConnectError).rawMessage).toMatch(/credential is not valid .*RegisterLauncher, with a registration token/);
  });
});
