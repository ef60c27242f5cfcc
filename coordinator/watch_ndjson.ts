import { create, toJson } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus, codeToString } from "@connectrpc/connect/protocol-connect";
import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import { WatchJobRequestSchema, WatchJobResponseSchema } from "../gen/tether/v1/job_service_pb.ts";
import type { Engine } from "./engine.ts";
import { watchJob } from "./services/watch_job.ts";

type Fallback = NonNullable<ConnectNodeAdapterOptions["fallback"]>;
type NodeServerRequest = Parameters<Fallback>[0];
type NodeServerResponse = Parameters<Fallback>[1];

const route = /^\/v1\/jobs\/([^/?]+)\/watch$/;

/**
 * WatchJob for people with curl: `GET /v1/jobs/<id>/watch?fromOffset=N`
 * streams the same messages as the RPC, one JSON object per line
 * (NDJSON), with no framing to decode. The auth gate asks it for the same
 * credential as the RPC. Returns false for other paths.
 */
export function serveWatchNdjson(engine: Engine, req: NodeServerRequest, res: NodeServerResponse): boolean {
  const url = new URL(req.url ?? "/", "http://localhost");
  const match = route.exec(url.pathname);
  if (!match || req.method !== "GET") return false;
  const fromOffset = url.searchParams.get("fromOffset") ?? url.searchParams.get("from_offset") ?? "0";
  const abort = new AbortController();
  res.on("close", () => abort.abort());
  void (async () => {
    let started = false;
    try {
      if (!/^\d{1,15}$/.test(fromOffset)) {
        throw new ConnectError(`fromOffset must be a whole number of at least 0; got "${fromOffset}"`, Code.InvalidArgument);
      }
      const request = create(WatchJobRequestSchema, { id: decodeId(match[1]!), fromOffset: BigInt(fromOffset) });
      for await (const message of watchJob(engine, request, abort.signal)) {
        if (!started) {
          res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
          started = true;
        }
        res.write(`${JSON.stringify(toJson(WatchJobResponseSchema, message))}\n`);
      }
      if (!started) res.writeHead(200, { "content-type": "application/x-ndjson" });
    } catch (e) {
      const error = ConnectError.from(e);
      const body = { code: codeToString(error.code), message: error.rawMessage };
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

function decodeId(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new ConnectError(`the job id in the path is not valid percent-encoding: "${text.slice(0, 100)}"`, Code.InvalidArgument);
  }
}
