/**
 * The attacks of issue 11, replayed against a real coordinator process and a
 * real launcher process (the stand-in claude as its claude-code executor),
 * each as the attacker ran it then. Each must now fail and change nothing.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { FailureReason, JobState, JobType } from "../../gen/tether/v1/job_pb.ts";
import { LauncherState } from "../../gen/tether/v1/launcher_pb.ts";
import { jobEvents, waitForEvent, waitForJobEnd } from "../support/coordinator_process.ts";
import { snapshotDatabase } from "../support/database_snapshot.ts";
import { useCoordinatorProcess, useLauncher } from "../support/process_fixtures.ts";

const coordinator = useCoordinatorProcess();
const launcher = useLauncher(coordinator);

/** A raw Connect JSON call, as the attacker's curl made it. */
async function curl(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${coordinator.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() as Record<string, unknown> };
}

const dangerous = (projectDir: string) => ({
  type: "JOB_TYPE_START_SESSION",
  executor: "claude-code",
  projectDir,
  parameters: { prompt: "run anything", permissionMode: "bypassPermissions", allowedTools: ["Bash(*)"] },
});

describe("the attacks of issue 11", () => {
  it("an anonymous CreateJob asking to skip every permission is refused, and creates nothing", async () => {
    const before = await snapshotDatabase(coordinator.dbPath);
    const answer = await curl("/tether.v1.JobService/CreateJob", dangerous(launcher.projectDir));
    expect([answer.status, answer.body.code]).toEqual([401, "unauthenticated"]);
    expect(await snapshotDatabase(coordinator.dbPath)).toEqual(before);
  });

  it("a client's job asking for bypassPermissions is refused by the host before claude starts", async () => {
    const { job } = await coordinator.jobs.createJob({
      type: JobType.START_SESSION,
      executor: "claude-code",
      projectDir: launcher.projectDir,
      parameters: { prompt: "run anything", permissionMode: "bypassPermissions" },
    });
    const ended = await waitForJobEnd(coordinator, job!.id);
    expect([JobState[ended.state], FailureReason[ended.failureReason]]).toEqual(["FAILED", "EXECUTOR_ERROR"]);
    expect(ended.error).toMatch(/permissionMode: "bypassPermissions" is not allowed here \(allowed: default, acceptEdits, plan, dontAsk\)/);
    expect(await jobEvents(coordinator, job!.id)).toEqual([]);
    // The stand-in keeps its sessions in the project dir: it never ran.
    expect(existsSync(join(launcher.projectDir, ".claude-stand-in"))).toBe(false);
  });

  it("nobody without a token reads prompts, events or results, or cancels a job", async () => {
    const { job } = await coordinator.jobs.createJob({
      type: JobType.COMMAND,
      executor: "echo",
      projectDir: launcher.projectDir,
      parameters: { prompt: "the secret is 42" },
    });
    await waitForJobEnd(coordinator, job!.id);
    for (const [path, body] of [
      ["/tether.v1.JobService/ListJobs", {}],
      ["/tether.v1.JobService/GetJob", { id: job!.id }],
      ["/tether.v1.JobService/CancelJob", { id: job!.id }],
    ] as const) {
      const answer = await curl(path, body);
      expect([path, answer.status]).toEqual([path, 401]);
      expect(JSON.stringify(answer.body)).not.toContain("the secret is 42");
    }
    const watch = await fetch(`${coordinator.url}/v1/jobs/${job!.id}/watch`);
    expect(watch.status).toBe(401);
    expect(await watch.text()).not.toContain("the secret is 42");
  });

  it("nobody acts as a launcher by its id: polls, reports, heartbeats and drains are refused", async () => {
    const launcherId = launcher.id;
    const { job } = await coordinator.jobs.createJob({
      type: JobType.COMMAND,
      executor: "echo",
      projectDir: launcher.projectDir,
      parameters: { prompt: "slowly", delayMs: 60_000 },
    });
    // The launcher runs it for a minute; every forged call below happens meanwhile, once its first event is in.
    await waitForEvent(coordinator, job!.id, (e) => e.type === "system", "the echo's init event");
    // The real launcher's heartbeats renew its lease meanwhile: everything but that must stand still.
    const withoutLeases = async () => ({ ...await snapshotDatabase(coordinator.dbPath), launchers: [] });
    const before = await withoutLeases();
    const forgedCredential = `Bearer thl_${launcherId}.${"A".repeat(43)}`;
    const withRegistration = `Bearer ${coordinator.tokens.registration}`;
    const withClient = `Bearer ${coordinator.tokens.client}`;
    const attempts: [string, unknown, string, Code][] = [
      // The request of old named the victim (a field that is gone now); the credential is checked first.
      ["PollJobs", { launcherId, pollId: "steal", freeSlots: 10 }, forgedCredential, Code.Unauthenticated],
      ["PollJobs", { launcherId, pollId: "steal", freeSlots: 10 }, withRegistration, Code.PermissionDenied],
      ["PollJobs", { pollId: "steal", freeSlots: 10 }, withRegistration, Code.PermissionDenied],
      ["FinishJob", { jobId: job!.id, fencingToken: "1", state: "JOB_STATE_SUCCEEDED", result: { result: "FORGED: all tests pass" } }, forgedCredential, Code.Unauthenticated],
      ["FinishJob", { jobId: job!.id, fencingToken: "1", state: "JOB_STATE_SUCCEEDED", result: { result: "FORGED: all tests pass" } }, withClient, Code.PermissionDenied],
      ["AppendJobEvents", { jobId: job!.id, fencingToken: "1", events: [{ type: "forged" }] }, withRegistration, Code.PermissionDenied],
      ["Heartbeat", { runningJobs: [] }, forgedCredential, Code.Unauthenticated],
    ];
    for (const [rpc, body, authorization, code] of attempts) {
      const answer = await curl(`/tether.v1.LauncherService/${rpc}`, body, { authorization });
      expect([rpc, answer.body.code]).toEqual([rpc, Code[code].replace(/[A-Z]/g, (c, i) => (i ? "_" : "") + c.toLowerCase())]);
    }
    for (const authorization of [undefined, withClient]) {
      const answer = await curl("/tether.v1.OperatorService/DrainLauncher", { launcherId }, authorization ? { authorization } : {});
      expect(answer.status).toBe(authorization ? 403 : 401);
    }
    expect(await withoutLeases()).toEqual(before);
    // The real launcher still runs its job and is ONLINE.
    const { launchers } = await coordinator.operator.listLaunchers({});
    expect(LauncherState[launchers.find((l) => l.id === launcherId)!.state]).toBe("ONLINE");
    expect(launcher.child.exitCode).toBeNull();
    await coordinator.jobs.cancelJob({ id: job!.id });
    expect(JobState[(await waitForJobEnd(coordinator, job!.id)).state]).toBe("CANCELLED");
  });

  it("what clients may read shows no launcher credential and no fencing token", async () => {
    const listed = await curl("/tether.v1.OperatorService/ListLaunchers", {}, { authorization: `Bearer ${coordinator.tokens.client}` });
    expect(JSON.stringify(listed.body)).toContain(launcher.id);
    expect(JSON.stringify(listed.body)).not.toMatch(/thl_|tth_/);
    const jobs = await curl("/tether.v1.JobService/ListJobs", {}, { authorization: `Bearer ${coordinator.tokens.client}` });
    // Fencing tokens are "<epoch>.<22 characters of MAC>"; no field of a job carries one.
    expect(JSON.stringify(jobs.body)).not.toMatch(/"\d+\.[A-Za-z0-9_-]{22}"/);
  });
});
