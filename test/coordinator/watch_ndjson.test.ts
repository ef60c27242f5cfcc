import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type JsonObject, toJson } from "@bufbuild/protobuf";
import { JobType } from "../../gen/tether/v1/job_pb.ts";
import { WatchJobResponseSchema } from "../../gen/tether/v1/job_service_pb.ts";
import { LauncherDriver } from "../support/launcher_driver.ts";
import { ndjsonLines } from "../support/ndjson_lines.ts";
import { startTestCoordinator, type TestCoordinator } from "../support/test_coordinator.ts";

describe("GET /v1/jobs/<id>/watch (NDJSON for curl)", () => {
  let t: TestCoordinator;
  beforeEach(async () => {
    t = await startTestCoordinator();
  });
  afterEach(() => t.close());

  it("streams the job, its events from an offset, live events, and ends with the job", async () => {
    const { job } = await t.jobs.createJob({ type: JobType.COMMAND, executor: "echo", projectDir: "/tmp" });
    const l = await LauncherDriver.register(t);
    const offer = await l.nextOffer();
    await l.accept(offer);
    await l.append(offer, 0, [{ n: 0 }, { n: 1 }]);
    const response = await fetch(`${t.url}/v1/jobs/${job!.id}/watch?fromOffset=1`, { headers: { authorization: `Bearer ${t.tokens.client}` } });
    expect(response.headers.get("content-type")).toBe("application/x-ndjson");
    const seen: string[] = [];
    for await (const line of ndjsonLines(response.body!)) {
      const event = line.event as { offset: string; data: unknown } | undefined;
      const state = (line.job as { state?: string } | undefined)?.state;
      seen.push(event ? `event ${event.offset} ${JSON.stringify(event.data)}` : `job ${state}`);
      if (event?.offset === "1") {
        await l.append(offer, 2, [{ n: 2 }]);
        await l.succeed(offer);
      }
    }
    expect(seen).toEqual([
      "job JOB_STATE_RUNNING",
      'event 1 {"n":1}',
      'event 2 {"n":2}',
      "job JOB_STATE_SUCCEEDED",
    ]);
  });

  it("sends each message as the RPC's proto JSON, events whose data is spliced in as stored included", async () => {
    const { job } = await t.jobs.createJob({ type: JobType.COMMAND, executor: "echo", projectDir: "/tmp" });
    const l = await LauncherDriver.register(t);
    const offer = await l.nextOffer();
    await l.accept(offer);
    const data: JsonObject[] = [
      { type: "first", nested: { list: [1, 2.5, -0, null, true, "x"], empty: {} } },
      { type: "text", text: "héllo \"quoted\" \\ \u2028 🧨", n: 1e21 },
      {},
    ];
    await l.append(offer, 0, data);
    await l.succeed(offer);
    const ndjson: unknown[] = [];
    const response = await fetch(`${t.url}/v1/jobs/${job!.id}/watch`, { headers: { authorization: `Bearer ${t.tokens.client}` } });
    for await (const line of ndjsonLines(response.body!)) ndjson.push(line);
    const rpc: unknown[] = [];
    for await (const m of t.jobs.watchJob({ id: job!.id })) rpc.push(toJson(WatchJobResponseSchema, m));
    expect(ndjson).toEqual(rpc);
    expect(ndjson.filter((m) => (m as { event?: unknown }).event)).toHaveLength(3);
  });

  it("answers an unknown job with a Connect-style NOT_FOUND", async () => {
    const response = await fetch(`${t.url}/v1/jobs/job_nope/watch`, { headers: { authorization: `Bearer ${t.tokens.client}` } });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ code: "not_found", message: 'job "job_nope" not found' });
  });

  it("refuses a malformed offset", async () => {
    const response = await fetch(`${t.url}/v1/jobs/job_x/watch?fromOffset=-1`, { headers: { authorization: `Bearer ${t.tokens.client}` } });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toMatch(/fromOffset/);
  });
});
