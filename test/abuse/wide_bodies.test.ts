/**
 * Attack 2: AppendJobEvents bodies as large as the coordinator takes (4 MiB)
 * made of as many tiny values as fit, sent at once, as JSON and as binary
 * protobuf. Defence: the body limits of `--read-max-bytes`, and
 * --max-request-entries, the entries a request may hold, counted before decoding.
 * The test asserts only that each is refused and nothing is stored, not
 * which error comes back.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppendJobEventsRequestSchema } from "../../gen/tether/v1/launcher_service_pb.ts";
import { type AbuseRig, startAbuseRig } from "./abuse_rig.ts";
import { type LoadRow, recordAttack } from "./abuse_figures.ts";
import { abuseFlags, runningJob } from "./attack_load.ts";
import { attackTimeoutMs, bySize } from "./abuse_size.ts";
import { lostJobs, underAttack } from "./under_attack.ts";

const concurrent = bySize(4, 16);
/** Keys of one event: past the 1 MiB an event may hold even in the short mode, so no cap lets it be stored. */
const jsonKeys = bySize(120_000, 330_000);
/** Fields of one Struct: about 14 bytes each, so that the body stays under 4 MiB. */
const protoFields = bySize(90_000, 290_000);

/** One event with `count` keys, each holding 0 (JSON) or null (protobuf). */
function wideEvent(count: number, value: 0 | null): Record<string, 0 | null> {
  const event: Record<string, 0 | null> = {};
  for (let i = 0; i < count; i++) event[`k${i.toString(36).padStart(5, "0")}`] = value;
  return event;
}

interface Answer {
  status: number;
  code: string;
}

describe("attack 2: 4 MiB request bodies of tiny values", () => {
  let rig: AbuseRig;
  const rows: LoadRow[] = [];
  beforeAll(async () => {
    rig = await startAbuseRig([...abuseFlags]);
  });
  afterAll(async () => {
    recordAttack({
      attack: "2. Bodies of many tiny values",
      setup: `${concurrent} \`AppendJobEvents\` requests at once, each one event of ${jsonKeys.toLocaleString("en")} keys ` +
        `(JSON) or a Struct of ${protoFields.toLocaleString("en")} fields (binary protobuf), sent with the launcher's ` +
        `own credential for a job it runs; default flags`,
      defence: "`--read-max-bytes` (default 4 MiB) caps every body, each RPC at its own share of it, refused before " +
        "decoding; `--max-request-entries` (default 5,000) caps the object keys and array elements (protobuf: fields) " +
        "of one request, counted before decoding and refused with `invalid_argument`",
      rows,
    });
    await rig?.close();
  });

  async function attack(contentType: string, body: Uint8Array, credential: string): Promise<Answer[]> {
    return await Promise.all(Array.from({ length: concurrent }, async () => {
      const res = await fetch(`${rig.url}/tether.v1.LauncherService/AppendJobEvents`, {
        method: "POST",
        headers: { "content-type": contentType, authorization: `Bearer ${credential}` },
        body: body as BodyInit,
      });
      const text = await res.text();
      const code = contentType === "application/json" || text.startsWith("{")
        ? (JSON.parse(text) as { code?: string }).code ?? "none"
        : "binary answer";
      return { status: res.status, code };
    }));
  }

  function answered(answers: readonly Answer[]): string {
    const counts = new Map<string, number>();
    for (const a of answers) counts.set(`${a.status} ${a.code}`, (counts.get(`${a.status} ${a.code}`) ?? 0) + 1);
    return [...counts].map(([what, n]) => `${n} × ${what}`).join(", ");
  }

  for (const form of ["JSON", "binary protobuf"] as const) {
    it(`refuses ${form} bodies of tiny values and stores nothing`, async () => {
      const held = await runningJob(rig, `abuse-wide-${form.split(" ")[0]!.toLowerCase()}`);
      const request = {
        jobId: held.offer.job!.id,
        fencingToken: held.offer.fencingToken,
        firstOffset: "0",
      };
      const [contentType, body] = form === "JSON"
        ? ["application/json", new TextEncoder().encode(JSON.stringify({ ...request, events: [wideEvent(jsonKeys, 0)] }))]
        : ["application/proto", toBinary(AppendJobEventsRequestSchema, create(AppendJobEventsRequestSchema, {
          ...request,
          firstOffset: 0n,
          events: [wideEvent(protoFields, null)],
        }))];
      expect(body.length).toBeLessThanOrEqual(4 * 2 ** 20);
      const { value: answers, pressure, acknowledged } = await underAttack(
        rig,
        () => attack(contentType, body, held.launcher.credential),
      );
      for (const answer of answers) expect(answer.status, JSON.stringify(answer)).toBeGreaterThanOrEqual(400);
      expect((await rig.jobs.getJob({ id: held.offer.job!.id })).job!.nextEventOffset).toBe(0n);
      const lost = await lostJobs(rig, acknowledged);
      expect(lost).toEqual([]);
      rows.push({
        load: `${concurrent} × ${form}, ${(body.length / 2 ** 20).toFixed(2)} MiB each`,
        pressure,
        lost: lost.length,
        answered: answered(answers),
      });
    }, attackTimeoutMs);
  }
});
