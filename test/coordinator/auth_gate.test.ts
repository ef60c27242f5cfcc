/**
 * The auth gate, at the edge of every protocol: it refuses before any body
 * is read or decoded, answers in the caller's own protocol, and reads the
 * request target as the routes do, so that no spelling of a path gets past it.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobService } from "../../gen/tether/v1/job_service_pb.ts";
import { frameJson, readFrames, type EndStream } from "../support/connect_envelope.ts";
import { snapshotDatabase } from "../support/database_snapshot.ts";
import { echoJob } from "../../tools/support/jobs.ts";
import { RawConnection } from "../support/raw_connection.ts";
import { startTestCoordinator, type TestCoordinator } from "../support/test_coordinator.ts";

let t: TestCoordinator;
let jobId: string;

beforeAll(async () => {
  t = await startTestCoordinator();
  jobId = (await t.jobs.createJob(echoJob)).job!.id;
});

afterAll(async () => {
  await t?.close();
});

describe("the door is checked before the body is read", () => {
  it("refuses an anonymous request whatever its body, without decoding it, over every protocol", async () => {
    const before = await snapshotDatabase(t.dbPath);
    const garbage = "{not json at all";
    for (const contentType of ["application/json", "application/proto", "application/connect+json", "application/grpc", "application/grpc-web+proto"]) {
      const res = await fetch(`${t.url}/tether.v1.JobService/CreateJob`, {
        method: "POST",
        headers: { "content-type": contentType },
        body: garbage,
      });
      const grpc = contentType.startsWith("application/grpc");
      if (grpc) {
        expect([contentType, res.headers.get("grpc-status")]).toEqual([contentType, String(Code.Unauthenticated)]);
        expect(decodeURIComponent(res.headers.get("grpc-message") ?? "")).toMatch(/needs a bearer token/);
      } else if (contentType.startsWith("application/connect+")) {
        const frames = [];
        for await (const frame of readFrames(res.body!)) frames.push(frameJson<EndStream>(frame));
        expect(frames).toEqual([{ error: { code: "unauthenticated", message: expect.stringMatching(/needs a bearer token/) } }]);
      } else {
        expect([contentType, res.status, (await res.json()).code]).toEqual([contentType, 401, "unauthenticated"]);
      }
    }
    expect(await snapshotDatabase(t.dbPath)).toEqual(before);
  });

  it("answers gRPC-Web clients with the code and the message", async () => {
    const web = createGrpcWebTransport({ baseUrl: t.url, httpVersion: "1.1" });
    const refused = await createClient(JobService, web).listJobs({}).then(() => null, (e) => ConnectError.from(e));
    expect([refused?.code, refused?.rawMessage]).toEqual([Code.Unauthenticated, expect.stringMatching(/needs a bearer token/)]);
  });
});

describe("targets the gate and the routes must read alike", () => {
  it("refuses the NDJSON watch to a registration token whatever the spelling of its path", async () => {
    const auth = { authorization: `Bearer ${t.tokens.registration}` };
    const id = jobId;
    // Not a watch (404, from the route and the gate alike) or a watch refused (403): never a stream of the job.
    const expected: [string, number][] = [
      [`/v1/jobs/${id}/watch`, 403],
      [`/v1/jobs/${id}/./watch`, 404],
      [`/v1/jobs/x/../${id}/watch`, 404],
      [`/v1/jobs/${id}/watch#x`, 403],
      [`/v1/jobs/${id}/watch?fromOffset=0#x`, 403],
    ];
    for (const [path, status] of expected) {
      // fetch would resolve the dot segments and drop the fragment itself: send the target as written.
      const connection = await RawConnection.open(t.url);
      try {
        connection.send(`GET ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: ${auth.authorization}\r\n\r\n`);
        const answer = await connection.nextResponse();
        expect([path, answer?.status]).toEqual([path, status]);
        expect(answer!.body.toString()).not.toContain('"job"');
      } finally {
        connection.close();
      }
    }
  });

  it("answers odd targets from any token holder and stays up", async () => {
    for (const target of ["//", "///", "//[", "//a:99999", "/v1/jobs//watch"]) {
      const connection = await RawConnection.open(t.url);
      try {
        connection.send(`GET ${target} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${t.tokens.registration}\r\n\r\n`);
        const answer = await connection.nextResponse();
        expect([target, answer!.status]).toEqual([target, 404]);
      } finally {
        connection.close();
      }
    }
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });

  it("answers an anonymous request whose body stalls, and frees its connection", async () => {
    const connection = await RawConnection.open(t.url);
    try {
      connection.send(
        "POST /tether.v1.JobService/CreateJob HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n" +
          "content-length: 1000000\r\n\r\n{\"type\":",
      );
      const answer = await connection.nextResponse();
      expect(answer!.status).toBe(401);
      // Then the connection is closed: nothing of it is held for the body that never came.
      expect(await connection.nextResponse()).toBeNull();
    } finally {
      connection.close();
    }
  });
});
