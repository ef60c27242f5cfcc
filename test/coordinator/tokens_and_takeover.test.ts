import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { durationFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { FailureReason, JobState } from "../../gen/tether/v1/job_pb.ts";
import { JobService } from "../../gen/tether/v1/job_service_pb.ts";
import { TokenRole } from "../../gen/tether/v1/token_pb.ts";
import { tokenState } from "../../coordinator/domain/token_state.ts";
import { createToken } from "../../coordinator/storage/create_token.ts";
import { listTokens } from "../../coordinator/storage/list_tokens.ts";
import { revokeToken } from "../../coordinator/storage/revoke_token.ts";
import { runTokensCommand } from "../../coordinator/tokens_command.ts";
import { bearer } from "../../tools/support/connect_clients.ts";
import { echoJob } from "../../tools/support/jobs.ts";
import { LauncherDriver } from "../support/launcher_driver.ts";
import { startTestCoordinator, type TestCoordinator } from "../support/test_coordinator.ts";
import { testBackend } from "../support/test_database.ts";
import { heldPolls } from "../support/held_polls.ts";

let t: TestCoordinator | undefined;
let other: TestCoordinator | undefined;
afterEach(async () => {
  await other?.stop();
  await t?.close();
  t = other = undefined;
});

const codeOf = (p: Promise<unknown>) => p.then(() => Code.Unknown, (e) => ConnectError.from(e).code);
/** The error a call was refused with; a call that succeeds fails the test. */
const refusal = (p: Promise<unknown>) =>
  p.then(() => {
    throw new Error("the call was not refused");
  }, (e) => ConnectError.from(e));
const jobsWith = (url: string, token: string) =>
  createClient(JobService, createConnectTransport({ baseUrl: url, httpVersion: "1.1", interceptors: [bearer(token)] }));

describe("tokens", () => {
  it("shows a new token's secret once, lists tokens without secrets, and a revocation holds from the next request", async () => {
    t = await startTestCoordinator();
    const made = await t.operator.createToken({ name: "ci", role: TokenRole.CLIENT, ttl: durationFromMs(3_600_000) });
    expect(made.secret).toMatch(/^tth_[A-Za-z0-9_-]{43}$/);
    expect(timestampMs(made.token!.expireTime!) - timestampMs(made.token!.createTime!)).toBe(3_600_000);
    const ci = jobsWith(t.url, made.secret);
    const { job } = await ci.createJob(echoJob);
    const listed = await t.operator.listTokens({});
    const text = JSON.stringify(listed.tokens.map((tok) => ({ ...tok })), (_, v) => (typeof v === "bigint" ? String(v) : v));
    expect(listed.tokens.map((tok) => [tok.name, TokenRole[tok.role]])).toContainEqual(["ci", "CLIENT"]);
    expect(text).not.toContain(made.secret);
    expect(text).not.toMatch(/[0-9a-f]{64}/);
    await t.operator.revokeToken({ id: made.token!.id });
    const refused = await refusal(ci.getJob({ id: job!.id }));
    expect([refused.code, refused.rawMessage]).toEqual([Code.Unauthenticated, expect.stringMatching(/"ci" .* was revoked/)]);
    expect((await t.operator.listTokens({})).tokens.map((tok) => tok.name)).not.toContain("ci");
    expect((await t.operator.listTokens({ includeInactive: true })).tokens.find((tok) => tok.name === "ci")!.revokeTime)
      .toBeDefined();
  });

  it("lists as working exactly the tokens tokenState calls active (the SQL and the rule agree)", async () => {
    t = await startTestCoordinator();
    const db = t.coordinator.engine.db;
    const now = Date.now();
    const states: [expireTime: number | null, revoke: number | null][] = [
      [null, null], [now + 60_000, null], [now - 1, null], [now, null], [null, now - 10],
    ];
    const made = await Promise.all(states.map(([expireTime, revoke], i) =>
      createToken(db, { name: `state-${i}`, role: TokenRole.CLIENT, secretHash: `hash-${i}`, expireTime }, now - 100)
        .then((row) => (revoke === null ? row : revokeToken(db, row.id, revoke)))));
    const listed = new Set((await listTokens(db, false, now)).map((row) => row.id));
    for (const row of made) expect([row.name, listed.has(row.id)]).toEqual([row.name, tokenState(row, now) === "active"]);
    expect(made.map((row) => tokenState(row, now))).toEqual(["active", "active", "expired", "expired", "revoked"]);
  });

  it.skipIf(testBackend !== "postgres")("a revocation on one replica holds on another from its next request", async () => {
    t = await startTestCoordinator();
    other = await startTestCoordinator({}, t.dbPath);
    const made = await t.operator.createToken({ name: "everywhere", role: TokenRole.CLIENT });
    const onOther = jobsWith(other.url, made.secret);
    await onOther.listJobs({});
    await t.operator.revokeToken({ id: made.token!.id });
    expect(await codeOf(onOther.listJobs({}))).toBe(Code.Unauthenticated);
  });

  it("the tokens command makes, lists and revokes tokens on the database, and ensure keeps a working file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tether-tokens-"));
    try {
      const db = join(dir, "tether.db");
      const out: string[] = [];
      const err: string[] = [];
      const tokens = (...args: string[]) =>
        runTokensCommand([...args, "--db", db], {}, { out: (s) => out.push(s), err: (s) => err.push(s), now: Date.now });
      expect(await tokens("create", "--role", "admin", "--name", "me")).toBe(0);
      expect(out.join("")).toMatch(/^tth_[A-Za-z0-9_-]{43}\n$/);
      expect(err.join("")).toMatch(/created admin token "me" \(tok_\w+\); it is shown only now/);
      expect(await tokens("create", "--role", "admin", "--name", "me")).toBe(1);
      expect(err.at(-1)).toMatch(/a token named "me" exists/);
      expect(await tokens("create", "--role", "root", "--name", "x")).toBe(2);

      const file = join(dir, "client.token");
      expect(await tokens("ensure", "--role", "client", "--name", "local", "--out", file)).toBe(0);
      const first = readFileSync(file, "utf8");
      expect((statSync(file).mode & 0o777).toString(8)).toBe("600");
      expect(await tokens("ensure", "--role", "client", "--name", "local", "--out", file)).toBe(0);
      expect(readFileSync(file, "utf8")).toBe(first);
      // A lost file: a new token, and the old one of that name, whose secret is gone, is revoked.
      rmSync(file);
      expect(await tokens("ensure", "--role", "client", "--name", "local", "--out", file)).toBe(0);
      expect(existsSync(file) && readFileSync(file, "utf8")).not.toBe(first);
      expect(err.join("")).toMatch(/revoked token "local" \(tok_\w+\): its secret is not in/);
      writeFileSync(file, "garbage\n", { mode: 0o644 });
      expect(await tokens("ensure", "--role", "client", "--name", "local", "--out", file)).toBe(0);
      expect(readFileSync(file, "utf8")).toMatch(/^tth_/);
      // The file it replaced was readable by all; the new one is not.
      expect((statSync(file).mode & 0o777).toString(8)).toBe("600");
      expect(await tokens("create", "--bogus")).toBe(2);
      expect(err.at(-1)).toMatch(/Unknown option '--bogus'[\s\S]*Usage: npm run coordinator -- tokens/);

      out.length = 0;
      expect(await tokens("list")).toBe(0);
      const listed = out.join("");
      expect(listed).toMatch(/tok_\w+ +admin +active +expires never +me\n/);
      expect(listed).not.toMatch(/tth_/);
      const id = /(tok_\w+) +admin/.exec(listed)![1]!;
      expect(await tokens("revoke", id)).toBe(0);
      out.length = 0;
      await tokens("list", "--all");
      expect(out.join("")).toMatch(new RegExp(`${id} +admin +revoked`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("one live instance per launcher identity", () => {
  it("a new instance takes over at once: the old credential is refused naming it, its offer goes back, its attempt waits out the old lease", async () => {
    t = await startTestCoordinator({ leaseMs: 5_000, heartbeatIntervalMs: 1_000, pollHoldMs: 5_000 });
    const old = await LauncherDriver.register(t, { name: "twin", maxConcurrency: 2 });
    const { job: first } = await t.jobs.createJob({ ...echoJob, maxAttempts: 3 });
    const running = await old.nextOffer();
    await old.accept(running);
    const { job: second } = await t.jobs.createJob(echoJob);
    const offered = await old.nextOffer();
    expect(offered.job!.id).toBe(second!.id);
    const oldLease = (await t.operator.listLaunchers({})).launchers.find((l) => l.id === old.id)!.leaseExpireTime!;

    const newer = await LauncherDriver.register(t, { name: "twin", maxConcurrency: 2 });
    expect(newer.id).toBe(old.id);
    const refused = await refusal(old.heartbeat([running]));
    expect(refused.code).toBe(Code.Unauthenticated);
    expect(refused.rawMessage).toContain(`was replaced: instance "${newer.instanceId}" registered at`);
    expect(await codeOf(old.succeed(running))).toBe(Code.Unauthenticated);

    const { job: requeued } = await t.jobs.getJob({ id: second!.id });
    expect([JobState[requeued!.state], requeued!.error]).toEqual(["QUEUED", expect.stringMatching(/taken over by instance/)]);
    const { job: lost } = await t.jobs.getJob({ id: first!.id });
    expect([JobState[lost!.state], FailureReason[lost!.failureReason]]).toEqual(["RETRY_WAIT", "LAUNCHER_LOST"]);
    // The old process may run the attempt until its next call is refused: no retry before its lease would lapse.
    expect(timestampMs(lost!.retryTime!)).toBeGreaterThanOrEqual(timestampMs(oldLease));

    // Until then the old process may still run its attempt: it keeps one of the two slots, whatever is queued.
    const { job: third } = await t.jobs.createJob(echoJob);
    const early = await newer.poll({ freeSlots: 2 });
    expect(early.offers.map((o) => o.job!.id)).toEqual([second!.id]);
    const offers = new Map<string, number>();
    while (offers.size < 2) {
      for (const o of (await newer.poll({ freeSlots: 1 })).offers) offers.set(o.job!.id, o.job!.attempt);
    }
    // The retry and the job queued behind it, once the old lease is over.
    expect(offers).toEqual(new Map([[first!.id, 1], [third!.id, 0]]));
  });

  it("a poll held across a takeover is refused at once and gets nothing; the new instance gets the jobs", async () => {
    t = await startTestCoordinator({ pollHoldMs: 30_000 });
    const old = await LauncherDriver.register(t, { name: "held" });
    const held = refusal(old.poll({ freeSlots: 2 }));
    await heldPolls(t!.coordinator, 1, "the old instance's poll to be held");
    const newer = await LauncherDriver.register(t, { name: "held" });
    const refused = await held;
    expect([refused.code, refused.rawMessage]).toEqual([Code.Unauthenticated, expect.stringContaining(newer.instanceId)]);
    const { job } = await t.jobs.createJob(echoJob);
    expect((await newer.nextOffer()).job!.id).toBe(job!.id);
  });

  it("a launcher belongs to the token that registered it: another registration token cannot take it over", async () => {
    t = await startTestCoordinator();
    const owner = await LauncherDriver.register(t, { name: "gpu-box" });
    const { secret: other, token } = await t.operator.createToken({ name: "other-host", role: TokenRole.LAUNCHER_REGISTRATION });
    const intruder = new LauncherDriver(t, { name: "gpu-box", token: other });
    const refused = await refusal(intruder.register());
    expect([refused.code, refused.rawMessage]).toEqual([
      Code.PermissionDenied,
      expect.stringMatching(/launcher "lnch_\w+" \(gpu-box on test-host\) was registered with another registration token/),
    ]);
    expect((await owner.heartbeat()).deregistered).toBe(false);
    // Its own token, an admin's, or any token once an operator removed it, may register it again.
    await new LauncherDriver(t, { name: "gpu-box" }).register();
    const admins = await LauncherDriver.register(t, { name: "gpu-box", token: t.tokens.admin });
    // The launcher leaving on its own frees nothing: its identity is still its token's (here, the admin's).
    await admins.launchers.deregisterLauncher({});
    expect(await codeOf(intruder.register())).toBe(Code.PermissionDenied);
    await t.operator.removeLauncher({ launcherId: owner.id });
    await intruder.register();
    // Now it is the other token's: the first one is refused in turn, until the other token is revoked.
    expect(await codeOf(new LauncherDriver(t, { name: "gpu-box" }).register())).toBe(Code.PermissionDenied);
    await t.operator.revokeToken({ id: token!.id });
    await new LauncherDriver(t, { name: "gpu-box" }).register();
  });

  it("tells only the replaced credential who took over; a forged one learns nothing, not even that the launcher exists", async () => {
    t = await startTestCoordinator();
    const first = await LauncherDriver.register(t, { name: "probed" });
    const replaced = first.credential;
    const second = await LauncherDriver.register(t, { name: "probed" });
    await second.register(); // the same instance again: the first credential is now two registrations old
    const message = async (credential: string) =>
      (await refusal(t!.launcherClient(credential).heartbeat({ runningJobs: [] }))).rawMessage;
    const forged = `thl_${first.id}.${"A".repeat(43)}`;
    const nobody = `thl_lnch_${"0".repeat(20)}.${"A".repeat(43)}`;
    expect(await message(forged)).toBe(await message(nobody));
    expect(await message(replaced)).toBe(await message(nobody));
    const third = await LauncherDriver.register(t, { name: "probed" });
    expect(await message(second.credential)).toContain(`was replaced: instance "${third.instanceId}"`);
    expect(await message(forged)).not.toContain(third.instanceId);
  });

  it("the same instance registering again keeps its jobs; only its newest credential works", async () => {
    t = await startTestCoordinator();
    const l = await LauncherDriver.register(t, { name: "same" });
    await t.jobs.createJob(echoJob);
    const offer = await l.nextOffer();
    await l.accept(offer);
    const before = l.launchers;
    await l.register();
    expect(await codeOf(before.heartbeat({ runningJobs: [] }))).toBe(Code.Unauthenticated);
    expect((await l.heartbeat([offer])).staleJobIds).toEqual([]);
    expect((await l.succeed(offer)).job!.state).toBe(JobState.SUCCEEDED);
  });
});
