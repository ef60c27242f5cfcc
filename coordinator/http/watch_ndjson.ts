import { create, toJson } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus } from "@connectrpc/connect/protocol-connect";
import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import { JobEventSchema } from "../../gen/tether/v1/job_pb.ts";
import { JobService, WatchJobRequestSchema, WatchJobResponseSchema } from "../../gen/tether/v1/job_service_pb.ts";
import { eventToProto } from "../api/to_proto.ts";
import { authorize } from "../auth/access.ts";
import type { Principal } from "../auth/principal.ts";
import type { Engine } from "../dispatch/engine.ts";
import { callerError } from "../api/error_interceptor.ts";
import { cutOff } from "./cut_off.ts";
import { errorJson } from "./refusal_response.ts";
import { type WatchItem, watchItems, watchMessage } from "../api/jobs/watch_job.ts";
import type { StoredEvent } from "../storage/read_job_events.ts";

type Fallback = NonNullable<ConnectNodeAdapterOptions["fallback"]>;
type NodeServerRequest = Parameters<Fallback>[0];
type NodeServerResponse = Parameters<Fallback>[1];

const route = /^\/v1\/jobs\/([^/]+)\/watch$/;

/**
 * The NDJSON watch a request's target names: its job id (still
 * percent-encoded) and query, or null for any other target. The target is
 * read as sent, without resolving "." or ".." segments, so that the auth gate
 * and this route always agree on which requests are watches.
 */
export function watchTarget(target: string): { encodedId: string; query: URLSearchParams } | null {
  const end = target.search(/[?#]/);
  const path = end < 0 ? target : target.slice(0, end);
  const match = route.exec(path);
  if (!match) return null;
  const query = end >= 0 && target[end] === "?" ? target.slice(end + 1).split("#")[0]! : "";
  return { encodedId: match[1]!, query: new URLSearchParams(query) };
}

/**
 * WatchJob for people with curl: `GET /v1/jobs/<id>/watch?fromOffset=N`
 * streams the same messages as the RPC, one JSON object per line
 * (NDJSON), with no framing to decode. The auth gate lets through only the
 * callers the RPC takes, and `principal` is checked again here. Returns
 * false for other targets.
 */
export function serveWatchNdjson(
  engine: Engine,
  principal: Principal | null,
  req: NodeServerRequest,
  res: NodeServerResponse,
): boolean {
  const target = watchTarget(req.url ?? "/");
  if (!target || req.method !== "GET") return false;
  if (principal === null) throw new Error("the NDJSON watch was reached without the auth gate");
  authorize(principal, JobService.method.watchJob);
  const fromOffset = target.query.get("fromOffset") ?? target.query.get("from_offset") ?? "0";
  const abort = new AbortController();
  res.on("close", () => abort.abort());
  void (async () => {
    let started = false;
    try {
      if (!/^\d{1,15}$/.test(fromOffset)) {
        throw new ConnectError(`fromOffset must be a whole number of at least 0; got "${fromOffset}"`, Code.InvalidArgument);
      }
      const request = create(WatchJobRequestSchema, { id: decodeId(target.encodedId), fromOffset: BigInt(fromOffset) });
      for await (const item of watchItems(engine, request, abort.signal)) {
        if (!started) {
          res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
          started = true;
        }
        if (!res.write(ndjsonLine(item))) {
          // Sent no faster than the reader takes it: a paused reader costs one page of events, not the log.
          const drained = await drainedWithin(res, engine.config.stallTimeoutMs, abort.signal);
          if (drained === "stalled") {
            engine.log.warn("dropped a watch whose reader took nothing", {
              path: "/v1/jobs/<id>/watch",
              stalledMs: engine.config.stallTimeoutMs,
            });
            // The reader takes nothing: end the stream at once; it may resume with fromOffset.
            cutOff(res);
            return;
          }
          if (drained === "closed") return;
        }
      }
      if (!started) res.writeHead(200, { "content-type": "application/x-ndjson" });
    } catch (e) {
      const error = callerError(e, engine.log, { path: "/v1/jobs/<id>/watch" });
      const body = errorJson(error);
      if (started) res.write(`${JSON.stringify({ error: body })}\n`);
      else {
        res.writeHead(codeToHttpStatus(error.code), { "content-type": "application/json" });
        res.write(JSON.stringify(body));
      }
    }
    res.end();
  })();
  return true;
}

/** One line of the NDJSON watch: the RPC's message as proto JSON. */
function ndjsonLine(item: WatchItem): string {
  if (item.case === "event") return eventLine(item.event);
  return `${JSON.stringify(toJson(WatchJobResponseSchema, watchMessage(item)))}\n`;
}

/**
 * An event's line, its data spliced in as it was stored: JSON text already,
 * the very text proto JSON would print for it, and most of the line, which
 * a watch replaying a long log would otherwise parse and print again.
 */
function eventLine(event: StoredEvent): string {
  const json = toJson(JobEventSchema, eventToProto({ ...event, data: "{}" })) as Record<string, unknown>;
  delete json.data;
  const fields = JSON.stringify(json).slice(1, -1);
  return `{"event":{${fields}${fields === "" ? "" : ","}"data":${event.data}}}\n`;
}

/**
 * Waits until the response's buffer drains: "drained", or "stalled" when
 * the reader took nothing for `timeoutMs`, or "closed" when it went away.
 */
function drainedWithin(
  res: NodeServerResponse,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<"drained" | "stalled" | "closed"> {
  return new Promise((resolve) => {
    const done = (how: "drained" | "stalled" | "closed") => {
      clearTimeout(timer);
      res.off("drain", onDrain);
      signal.removeEventListener("abort", onClose);
      resolve(how);
    };
    const onDrain = () => done("drained");
    const onClose = () => done("closed");
    const timer = setTimeout(() => done("stalled"), timeoutMs);
    res.once("drain", onDrain);
    signal.addEventListener("abort", onClose, { once: true });
  });
}

function decodeId(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new ConnectError(`the job id in the path is not valid percent-encoding: "${text.slice(0, 100)}"`, Code.InvalidArgument);
  }
}
