import type { JsonValue } from "@bufbuild/protobuf";
import { JobType } from "../../gen/tether/v1/job_pb.ts";
import { TokenRole } from "../../gen/tether/v1/token_pb.ts";
import type { Offer } from "../../gen/tether/v1/launcher_pb.ts";
import type { RoleTokens } from "../../tools/support/role_tokens.ts";
import { LauncherDriver } from "../support/launcher_driver.ts";
import type { TestCoordinator } from "../support/test_coordinator.ts";

/** The Connect error codes bad input is refused with. */
export type ErrorCode =
  | "invalid_argument"
  | "failed_precondition"
  | "out_of_range"
  | "not_found"
  | "already_exists"
  | "resource_exhausted"
  | "unauthenticated"
  | "permission_denied";

/** Jobs and launchers in the states the illegal transitions below need, made through real RPCs. */
export interface Fixtures {
  /** Ran `succeeded`, runs `running`, holds the offer of `offered`. */
  a: LauncherDriver;
  /** Holds nothing. */
  b: LauncherDriver;
  /** A launcher instance that was replaced while it ran `zombieOffer`'s job. */
  zombie: LauncherDriver;
  /** A START_SESSION turn that SUCCEEDED without reporting an executor session id. */
  succeeded: Offer;
  running: Offer;
  offered: Offer;
  /** The replaced instance's offer: its job waits for a retry under a newer token. */
  zombieOffer: Offer;
  /** The instance that replaced `zombie`: the same launcher, so only the token is wrong in its reports of that job. */
  successor: LauncherDriver;
  tokens: RoleTokens;
}

export async function buildFixtures(t: TestCoordinator): Promise<Fixtures> {
  const create = (fields: object = {}) =>
    t.jobs.createJob({ type: JobType.COMMAND, executor: "echo", projectDir: "/srv/repo", ...fields });
  const zombie = await LauncherDriver.register(t, { name: "zombie" });
  await create({ maxAttempts: 2 });
  const zombieOffer = await zombie.nextOffer();
  await zombie.accept(zombieOffer);
  // Same name and host, new instance: the old attempt ends LAUNCHER_LOST, to be retried once the old lease is over.
  const successor = await LauncherDriver.register(t, { name: "zombie" });

  await t.operator.createToken({ name: "in-use", role: TokenRole.CLIENT });
  const a = await LauncherDriver.register(t, { name: "a" });
  const b = await LauncherDriver.register(t, { name: "b" });
  await create({ type: JobType.START_SESSION, sessionName: "finished-turn", idempotencyKey: "fixture-key" });
  const succeeded = await a.nextOffer();
  await a.accept(succeeded);
  await a.succeed(succeeded);
  await create();
  const running = await a.nextOffer();
  await a.accept(running);
  await create();
  const offered = await a.nextOffer();
  return { a, b, zombie, successor, succeeded, running, offered, zombieOffer, tokens: t.tokens };
}

const json = (value: unknown) => JSON.stringify(value);
const long = (n: number) => "x".repeat(n);
const nested = (depth: number): JsonValue => (depth === 0 ? 1 : { a: nested(depth - 1) });
const pageToken = (cursor: object) => Buffer.from(JSON.stringify(cursor)).toString("base64url");
export const jobBody = (fields: object = {}) =>
  json({ type: "JOB_TYPE_COMMAND", executor: "echo", projectDir: "/srv/repo", ...fields });
const register = (fields: object = {}) =>
  json({ name: "newcomer", hostname: "host-1", executors: ["echo"], maxConcurrency: 1, instanceId: "i-1", ...fields });
const report = (o: Offer, fields: object = {}) => json({ jobId: o.job!.id, fencingToken: o.fencingToken, ...fields });
const succeed = { state: "JOB_STATE_SUCCEEDED", exitCode: 0 };

/**
 * One bad input: refused with `code` and a message matching `says`. `as`
 * picks the bearer token; by default the calls of people carry the client
 * token, RegisterLauncher the registration token, other launcher calls
 * launcher a's credential, and the operators' calls the admin token.
 */
export type Row = [input: string, code: ErrorCode, says: RegExp, body: (f: Fixtures) => string, as?: (f: Fixtures) => string];

/** Bad input per RPC; each row is refused with its code and a message matching `says`. */
export const badInputs: Record<string, Row[]> = {
  CreateJob: [
    ["a request without a type", "invalid_argument", /type must be one of JOB_TYPE_START_SESSION, .*; got 0/, () => jobBody({ type: undefined })],
    ["an unknown type name", "invalid_argument", /JobType.*"JOB_TYPE_BOGUS"/, () => jobBody({ type: "JOB_TYPE_BOGUS" })],
    ["an unknown type number", "invalid_argument", /type must be one of .*; got 99/, () => jobBody({ type: 99 })],
    ["a request without an executor", "invalid_argument", /executor is required/, () => jobBody({ executor: undefined })],
    ["an executor name with a space", "invalid_argument", /executor "my echo" must start with a letter or digit/, () => jobBody({ executor: "my echo" })],
    ["a 100 000-character executor", "invalid_argument", /executor must be at most 64 characters/, () => jobBody({ executor: long(100_000) })],
    ["a request without a projectDir", "invalid_argument", /projectDir must be an absolute path/, () => jobBody({ projectDir: undefined })],
    ["a relative projectDir", "invalid_argument", /projectDir must be an absolute path .*; got "repo"/, () => jobBody({ projectDir: "repo" })],
    ["a 5000-character projectDir", "invalid_argument", /projectDir must be at most 4096 characters/, () => jobBody({ projectDir: `/${long(5000)}` })],
    ["a priority of 1001", "invalid_argument", /priority must be a whole number from -1000 to 1000; got 1001/, () => jobBody({ priority: 1001 })],
    ["a priority of -1001", "invalid_argument", /priority must be a whole number from -1000 to 1000; got -1001/, () => jobBody({ priority: -1001 })],
    ["a priority past int32", "invalid_argument", /priority.*2147483648 out of range/, () => jobBody({ priority: 2 ** 31 })],
    ["a fractional priority", "invalid_argument", /priority.*got 1\.5/, () => jobBody({ priority: 1.5 })],
    ["a priority given as a word", "invalid_argument", /priority.*expected number/, () => jobBody({ priority: "high" })],
    ["maxAttempts of 101", "invalid_argument", /maxAttempts must be a whole number from 1 to 100; got 101/, () => jobBody({ maxAttempts: 101 })],
    ["maxAttempts of -1", "invalid_argument", /maxAttempts must be a whole number from 1 to 100; got -1/, () => jobBody({ maxAttempts: -1 })],
    ["a concurrencyLimit without a concurrencyKey", "invalid_argument", /concurrencyLimit needs a concurrencyKey/, () => jobBody({ concurrencyLimit: 2 })],
    ["a concurrencyLimit of 1001", "invalid_argument", /concurrencyLimit must be a whole number from 1 to 1000/, () => jobBody({ concurrencyKey: "repo", concurrencyLimit: 1001 })],
    ["a timeout under 0.1 s", "invalid_argument", /timeout must be from 0\.1s to 604800s; got 0\.05s/, () => jobBody({ timeout: "0.05s" })],
    ["a negative timeout", "invalid_argument", /timeout must be from 0\.1s/, () => jobBody({ timeout: "-1s" })],
    ["a timeout that is not a duration", "invalid_argument", /Duration.*"5 minutes"/, () => jobBody({ timeout: "5 minutes" })],
    ["a matchTimeout of 31 days", "invalid_argument", /matchTimeout must be from 0\.1s to 2592000s/, () => jobBody({ matchTimeout: `${31 * 86_400}s` })],
    ["parameters that are a string", "invalid_argument", /Struct/, () => jobBody({ parameters: "say hi" })],
    ["parameters nested 33 deep", "invalid_argument", /parameters nests deeper than 32 levels/, () => jobBody({ parameters: nested(33) })],
    ["parameters nested 1000 deep", "invalid_argument", /the request nests deeper than 100 levels/, () => jobBody({ parameters: nested(1000) })],
    ["300 KB of parameters", "invalid_argument", /parameters is \d+ bytes as JSON; the limit is 262144/, () => jobBody({ parameters: { text: long(300_000) } })],
    ["a label value that is not a string", "invalid_argument", /labels.*"gpu".*expected string/, () => jobBody({ labels: { gpu: true } })],
    ["a label key with a space", "invalid_argument", /labels key "gpu type" must start with a letter or digit/, () => jobBody({ labels: { "gpu type": "a100" } })],
    ["a label value with a NUL", "invalid_argument", /labels\["gpu"\] must not contain NUL/, () => jobBody({ labels: { gpu: "a\u0000b" } })],
    ["65 labels", "invalid_argument", /labels may hold at most 64 labels/, () => jobBody({ labels: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"])) })],
    ["a metadata entry with an empty key", "invalid_argument", /metadata key is required/, () => jobBody({ metadata: { "": "v" } })],
    ["a sessionName on a COMMAND job", "invalid_argument", /sessionName is only for JOB_TYPE_START_SESSION/, () => jobBody({ sessionName: "s" })],
    ["a resume without a sessionId", "invalid_argument", /sessionId is required/, () => jobBody({ type: "JOB_TYPE_RESUME_SESSION" })],
    ["a resume of an unknown session", "not_found", /session "ses_missing" not found; start one with JOB_TYPE_START_SESSION/, () => jobBody({ type: "JOB_TYPE_RESUME_SESSION", sessionId: "ses_missing" })],
    ["a resume of a session with nothing to resume", "failed_precondition", /has nothing to resume/, (f) => jobBody({ type: "JOB_TYPE_RESUME_SESSION", sessionId: f.succeeded.job!.sessionId })],
    ["a resume on another executor than its session's", "invalid_argument", /executor "claude-code" does not match session/, (f) => jobBody({ type: "JOB_TYPE_RESUME_SESSION", executor: "claude-code", sessionId: f.succeeded.job!.sessionId })],
    ["a resume in another projectDir than its session's", "invalid_argument", /projectDir "\/elsewhere" does not match session/, (f) => jobBody({ type: "JOB_TYPE_RESUME_SESSION", projectDir: "/elsewhere", sessionId: f.succeeded.job!.sessionId })],
    ["a sessionName already taken", "already_exists", /sessionName "finished-turn" is taken by session/, () => jobBody({ type: "JOB_TYPE_START_SESSION", sessionName: "finished-turn" })],
    ["an idempotencyKey reused for another request", "already_exists", /idempotencyKey "fixture-key" was already used by job .* for a different request/, () => jobBody({ idempotencyKey: "fixture-key" })],
  ],
  GetJob: [
    ["a request without an id", "invalid_argument", /id is required/, () => json({})],
    ["an unknown id", "not_found", /job "job_missing" not found/, () => json({ id: "job_missing" })],
    ["a 129-character id", "invalid_argument", /id must be at most 128 characters/, () => json({ id: long(129) })],
  ],
  ListJobs: [
    ["a pageSize of 1001", "invalid_argument", /pageSize must be a whole number from 1 to 1000; got 1001/, () => json({ pageSize: 1001 })],
    ["a negative pageSize", "invalid_argument", /pageSize must be a whole number from 1 to 1000; got -1/, () => json({ pageSize: -1 })],
    ["a pageToken it never issued", "invalid_argument", /pageToken is not one this server issued; pass nextPageToken/, () => json({ pageToken: "garbage" })],
    ["a pageToken of ListSessions", "invalid_argument", /pageToken is not one this server issued/, () => json({ pageToken: pageToken({ time: 1, id: "ses_x" }) })],
    ["an unknown state number", "invalid_argument", /states\[1\] must be one of JOB_STATE_QUEUED, .*; got 99/, () => json({ states: [1, 99] })],
    ["an unknown state name", "invalid_argument", /JobState.*"JOB_STATE_DONE"/, () => json({ states: ["JOB_STATE_DONE"] })],
    ["a filter of 1 000 states", "invalid_argument", /states/, () => json({ states: Array(1_000).fill("JOB_STATE_QUEUED") })],
    // Larger than any list call needs: refused by its size, before it is decoded.
    ["a filter of 40 000 states", "resource_exhausted", /larger than configured readMaxBytes 65536/, () =>
      json({ states: Array(40_000).fill("JOB_STATE_QUEUED") })],
    ["JOB_STATE_UNSPECIFIED as a filter", "invalid_argument", /states\[0\] must be one of .*; got 0/, () => json({ states: ["JOB_STATE_UNSPECIFIED"] })],
    ["a 129-character sessionId", "invalid_argument", /sessionId must be at most 128 characters/, () => json({ sessionId: long(129) })],
  ],
  CancelJob: [
    ["a request without an id", "invalid_argument", /id is required/, () => json({})],
    ["an unknown id", "not_found", /job "job_missing" not found/, () => json({ id: "job_missing" })],
    ["a 1025-character reason", "invalid_argument", /reason must be at most 1024 characters/, (f) => json({ id: f.running.job!.id, reason: long(1025) })],
    ["a job that SUCCEEDED", "failed_precondition", /already ended SUCCEEDED; there is nothing to cancel/, (f) => json({ id: f.succeeded.job!.id })],
  ],
  WatchJob: [
    ["a request without an id", "invalid_argument", /id is required/, () => json({})],
    ["an unknown id", "not_found", /job "job_missing" not found/, () => json({ id: "job_missing" })],
    ["a negative fromOffset", "invalid_argument", /fromOffset must be a whole number from 0/, (f) => json({ id: f.running.job!.id, fromOffset: "-1" })],
    ["a fromOffset that is not a number", "invalid_argument", /from_offset/, (f) => json({ id: f.running.job!.id, fromOffset: "first" })],
  ],
  GetSession: [
    ["a request without an id", "invalid_argument", /id is required/, () => json({})],
    ["an unknown id", "not_found", /session "ses_missing" not found/, () => json({ id: "ses_missing" })],
    ["a 129-character id", "invalid_argument", /id must be at most 128 characters/, () => json({ id: long(129) })],
  ],
  ListSessions: [
    ["a pageSize of 1001", "invalid_argument", /pageSize must be a whole number from 1 to 1000/, () => json({ pageSize: 1001 })],
    ["a pageToken of ListJobs", "invalid_argument", /pageToken is not one this server issued/, () => json({ pageToken: pageToken({ seq: 1 }) })],
    ["an unknown state number", "invalid_argument", /states\[0\] must be one of SESSION_STATE_PENDING, .*; got 42/, () => json({ states: [42] })],
    ["an unknown state name", "invalid_argument", /SessionState.*"SESSION_STATE_DONE"/, () => json({ states: ["SESSION_STATE_DONE"] })],
    ["a filter of 1 000 states", "invalid_argument", /states/, () => json({ states: Array(1_000).fill("SESSION_STATE_IDLE") })],
    // Larger than any list call needs: refused by its size, before it is decoded.
    ["a filter of 40 000 states", "resource_exhausted", /larger than configured readMaxBytes 65536/, () =>
      json({ states: Array(40_000).fill("SESSION_STATE_IDLE") })],
    ["SESSION_STATE_UNSPECIFIED as a filter", "invalid_argument", /states\[0\] must be one of .*; got 0/, () => json({ states: ["SESSION_STATE_UNSPECIFIED"] })],
  ],
  RegisterLauncher: [
    ["a request without a name", "invalid_argument", /name is required/, () => register({ name: undefined })],
    ["a name with a slash", "invalid_argument", /name "a\/b" must start with a letter or digit/, () => register({ name: "a/b" })],
    ["a request without a hostname", "invalid_argument", /hostname is required/, () => register({ hostname: undefined })],
    ["a 254-character hostname", "invalid_argument", /hostname must be at most 253 characters/, () => register({ hostname: long(254) })],
    ["an empty list of executors", "invalid_argument", /executors must list at least one executor profile/, () => register({ executors: [] })],
    ["65 executors", "invalid_argument", /executors may list at most 64/, () => register({ executors: Array.from({ length: 65 }, (_, i) => `e${i}`) })],
    ["an empty executor name", "invalid_argument", /executors\[1\] is required/, () => register({ executors: ["echo", ""] })],
    ["a maxConcurrency of 0", "invalid_argument", /maxConcurrency must be a whole number from 1 to 1000; got 0/, () => register({ maxConcurrency: 0 })],
    ["a maxConcurrency of 1001", "invalid_argument", /maxConcurrency must be a whole number from 1 to 1000; got 1001/, () => register({ maxConcurrency: 1001 })],
    ["a request without an instanceId", "invalid_argument", /instanceId is required/, () => register({ instanceId: undefined })],
    ["a 65-character version", "invalid_argument", /version must be at most 64 characters/, () => register({ version: long(65) })],
    ["a label key with a space", "invalid_argument", /labels key "os type"/, () => register({ labels: { "os type": "linux" } })],
  ],
  PollJobs: [
    ["a request without a pollId", "invalid_argument", /pollId is required/, () => json({ freeSlots: 1 })],
    ["a 129-character pollId", "invalid_argument", /pollId must be at most 128 characters/, () => json({ pollId: long(129), freeSlots: 1 })],
    ["freeSlots of -1", "invalid_argument", /freeSlots must be a whole number from 0 to 1000; got -1/, () => json({ pollId: "p", freeSlots: -1 })],
    ["freeSlots of 1001", "invalid_argument", /freeSlots must be a whole number from 0 to 1000; got 1001/, () => json({ pollId: "p", freeSlots: 1001 })],
    ["freeSlots given as a word", "invalid_argument", /free_slots.*expected number/, () => json({ pollId: "p", freeSlots: "two" })],
    ["1001 cancellingJobIds", "invalid_argument", /cancellingJobIds may list at most 1000 jobs/, () => json({ pollId: "p", cancellingJobIds: Array(1001).fill("j") })],
    ["a launcherId in the request", "invalid_argument", /key "launcherId" is unknown/, (f) => json({ launcherId: f.b.id, pollId: "p", freeSlots: 1 })],
  ],
  AcceptJob: [
    ["an unknown job", "not_found", /job "job_missing" not found/, () => json({ jobId: "job_missing", fencingToken: "1" })],
    ["a request without a fencingToken", "invalid_argument", /fencingToken is required/, (f) => report(f.offered, { fencingToken: undefined })],
    ["a 65-character fencingToken", "invalid_argument", /fencingToken must be at most 64 characters/, (f) => report(f.offered, { fencingToken: long(65) })],
    ["another launcher's outstanding offer", "permission_denied", /is not held by this launcher \("lnch_\w+"\); stop running it/, (f) => report(f.offered), (f) => f.b.credential],
    ["an offer another launcher already accepted", "permission_denied", /is not held by this launcher/, (f) => report(f.running), (f) => f.b.credential],
    ["a stale fencing token", "failed_precondition", /the fencing token for job "job_\w+" is stale: the job is RETRY_WAIT under a newer attempt; stop running it$/, (f) => report(f.zombieOffer), (f) => f.successor.credential],
    ["a forged fencing token", "failed_precondition", /is stale/, (f) => report(f.offered, { fencingToken: `1.${"A".repeat(22)}` })],
    ["a job that SUCCEEDED", "failed_precondition", /is SUCCEEDED; this report is no longer accepted/, (f) => report(f.succeeded)],
  ],
  Heartbeat: [
    ["a running job without its token", "invalid_argument", /runningJobs\[0\]\.fencingToken is required/, (f) => json({ runningJobs: [{ jobId: f.running.job!.id }] })],
    ["1001 running jobs", "invalid_argument", /runningJobs may list at most 1000 jobs/, () => json({ runningJobs: Array(1001).fill({ jobId: "j", fencingToken: "1" }) })],
  ],
  AppendJobEvents: [
    ["an unknown job", "not_found", /job "job_missing" not found/, () => json({ jobId: "job_missing", fencingToken: "1" })],
    ["a request without a jobId", "invalid_argument", /jobId is required/, (f) => report(f.running, { jobId: undefined })],
    ["an event that is not an object", "invalid_argument", /Struct/, (f) => report(f.running, { events: ["hello"] })],
    ["an event nested 33 deep", "invalid_argument", /events\[0\] nests deeper than 32 levels/, (f) => report(f.running, { events: [nested(33)] })],
    ["a 1.1 MB event", "invalid_argument", /events\[0\] is \d+ bytes as JSON; the limit is 1048576/, (f) => report(f.running, { events: [{ text: long(1_100_000) }] })],
    ["1001 events in one batch", "invalid_argument", /events may hold at most 1000 events per batch/, (f) => report(f.running, { events: Array(1001).fill({}) })],
    ["a negative firstOffset", "invalid_argument", /firstOffset must be a whole number from 0/, (f) => report(f.running, { firstOffset: "-1", events: [{}] })],
    ["a batch that leaves a gap", "out_of_range", /must continue at offset 0, not 5; resend from offset 0/, (f) => report(f.running, { firstOffset: "5", events: [{}] })],
    ["a 129-character executorSessionId", "invalid_argument", /executorSessionId must be an id of 1-128 letters/, (f) => report(f.running, { executorSessionId: long(129) })],
    ["an executorSessionId that is an option", "invalid_argument", /executorSessionId must be an id .* not beginning with "-"/, (f) => report(f.running, { executorSessionId: '--settings={"hooks":{}}' })],
    ["another launcher's job", "permission_denied", /is not held by this launcher/, (f) => report(f.running, { events: [{}] }), (f) => f.b.credential],
    ["a stale fencing token", "failed_precondition", /is stale/, (f) => report(f.zombieOffer, { events: [{}] }), (f) => f.successor.credential],
    ["a job that SUCCEEDED", "failed_precondition", /is SUCCEEDED; this report is no longer accepted/, (f) => report(f.succeeded, { events: [{}] })],
  ],
  FinishJob: [
    ["an unknown job", "not_found", /job "job_missing" not found/, () => json({ jobId: "job_missing", fencingToken: "1", ...succeed })],
    ["a report without a state", "invalid_argument", /state must be one of JOB_STATE_QUEUED, .*; got 0/, (f) => report(f.running)],
    ["a RUNNING state", "invalid_argument", /state must be JOB_STATE_SUCCEEDED, JOB_STATE_FAILED or JOB_STATE_CANCELLED/, (f) => report(f.running, { state: "JOB_STATE_RUNNING" })],
    ["FAILED without a failureReason", "invalid_argument", /a FAILED report needs failureReason/, (f) => report(f.running, { state: "JOB_STATE_FAILED" })],
    ["FAILED for a reason only the coordinator decides", "invalid_argument", /a FAILED report needs failureReason/, (f) => report(f.running, { state: "JOB_STATE_FAILED", failureReason: "FAILURE_REASON_OFFER_EXPIRED" })],
    ["an unknown failureReason name", "invalid_argument", /FailureReason.*"FAILURE_REASON_OOM"/, (f) => report(f.running, { state: "JOB_STATE_FAILED", failureReason: "FAILURE_REASON_OOM" })],
    ["an exitCode given as a word", "invalid_argument", /exit_code.*expected number/, (f) => report(f.running, { ...succeed, exitCode: "zero" })],
    ["a 65537-character error", "invalid_argument", /error must be at most 65536 characters/, (f) => report(f.running, { state: "JOB_STATE_FAILED", failureReason: "FAILURE_REASON_EXIT_NONZERO", error: long(65_537) })],
    ["a result nested 33 deep", "invalid_argument", /result nests deeper than 32 levels/, (f) => report(f.running, { ...succeed, result: nested(33) })],
    ["a negative nextEventOffset", "invalid_argument", /nextEventOffset must be a whole number from 0/, (f) => report(f.running, { ...succeed, nextEventOffset: "-1" })],
    ["a nextEventOffset past the events it appended", "failed_precondition", /has events up to offset 0, not 3; append the events from offset 0 before finishing/, (f) => report(f.running, { ...succeed, nextEventOffset: "3" })],
    ["an executorSessionId that is an option", "invalid_argument", /executorSessionId must be an id/, (f) => report(f.running, { ...succeed, executorSessionId: "--resume" })],
    ["another launcher's job", "permission_denied", /is not held by this launcher/, (f) => report(f.running, succeed), (f) => f.b.credential],
    ["a stale fencing token", "failed_precondition", /the fencing token for job .* is stale/, (f) => report(f.zombieOffer, succeed), (f) => f.successor.credential],
    ["CANCELLED for a job nobody cancelled", "failed_precondition", /was not asked to stop, so it cannot end CANCELLED/, (f) => report(f.running, { state: "JOB_STATE_CANCELLED" })],
    ["FAILED for a job that already SUCCEEDED", "failed_precondition", /SUCCEEDED/, (f) => report(f.succeeded, { state: "JOB_STATE_FAILED", failureReason: "FAILURE_REASON_EXIT_NONZERO", exitCode: 1 })],
  ],
  DeregisterLauncher: [
    ["a launcherId in the request", "invalid_argument", /key "launcherId" is unknown/, (f) => json({ launcherId: f.b.id })],
  ],
  ListLaunchers: [
    ["an unknown state number", "invalid_argument", /states\[0\] must be one of LAUNCHER_STATE_ONLINE, .*; got 9/, () => json({ states: [9] })],
    ["an unknown state name", "invalid_argument", /LauncherState.*"LAUNCHER_STATE_BUSY"/, () => json({ states: ["LAUNCHER_STATE_BUSY"] })],
    ["a filter of 1 000 states", "invalid_argument", /states/, () => json({ states: Array(1_000).fill("LAUNCHER_STATE_ONLINE") })],
    // Larger than any list call needs: refused by its size, before it is decoded.
    ["a filter of 40 000 states", "resource_exhausted", /larger than configured readMaxBytes 65536/, () =>
      json({ states: Array(40_000).fill("LAUNCHER_STATE_ONLINE") })],
    ["LAUNCHER_STATE_UNSPECIFIED as a filter", "invalid_argument", /states\[0\] must be one of .*; got 0/, () => json({ states: ["LAUNCHER_STATE_UNSPECIFIED"] })],
  ],
  DrainLauncher: [
    ["a request without a launcherId", "invalid_argument", /launcherId is required/, () => json({})],
    ["a launcherId with a NUL", "invalid_argument", /launcherId must not contain NUL/, () => json({ launcherId: "lnch_\u0000" })],
    ["an unknown launcher", "not_found", /launcher "lnch_missing" is not registered/, () => json({ launcherId: "lnch_missing" })],
  ],
  RemoveLauncher: [
    ["a request without a launcherId", "invalid_argument", /launcherId is required/, () => json({})],
    ["a 129-character launcherId", "invalid_argument", /launcherId must be at most 128 characters/, () => json({ launcherId: long(129) })],
    ["an unknown launcher", "not_found", /launcher "lnch_missing" is not registered/, () => json({ launcherId: "lnch_missing" })],
  ],
  CreateToken: [
    ["a request without a name", "invalid_argument", /name is required/, () => json({ role: "TOKEN_ROLE_CLIENT" })],
    ["a name with a space", "invalid_argument", /name "my token" must start with a letter or digit/, () => json({ name: "my token", role: "TOKEN_ROLE_CLIENT" })],
    ["a request without a role", "invalid_argument", /role must be TOKEN_ROLE_ADMIN, TOKEN_ROLE_CLIENT or TOKEN_ROLE_LAUNCHER_REGISTRATION/, () => json({ name: "x" })],
    ["an unknown role number", "invalid_argument", /role must be TOKEN_ROLE_ADMIN/, () => json({ name: "x", role: 7 })],
    ["a ttl under a second", "invalid_argument", /ttl must be from 1s/, () => json({ name: "x", role: "TOKEN_ROLE_CLIENT", ttl: "0.5s" })],
    ["the name of a token in use", "already_exists", /a token named "in-use" exists \(tok_\w+\); revoke it first or choose another name/, () => json({ name: "in-use", role: "TOKEN_ROLE_CLIENT" })],
  ],
  ListTokens: [
    ["includeInactive given as a word", "invalid_argument", /include_inactive.*expected bool/, () => json({ includeInactive: "yes" })],
  ],
  RevokeToken: [
    ["a request without an id", "invalid_argument", /id is required/, () => json({})],
    ["an unknown token", "not_found", /token "tok_missing" does not exist; ListTokens shows the tokens/, () => json({ id: "tok_missing" })],
  ],
};

/** Input no request message can be read from, which every RPC refuses alike. */
export const unreadable: Row[] = [
  ["malformed JSON", "invalid_argument", /JSON/, () => `{"id": `],
  ["an unknown field", "invalid_argument", /key "colour" is unknown/, () => json({ colour: "blue" })],
  ["a JSON array for the request", "invalid_argument", /cannot decode message tether\.v1\.\w+Request from JSON/, () => "[]"],
];
