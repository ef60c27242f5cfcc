import type { ConnectError } from "@connectrpc/connect";
import type { connectNodeAdapter } from "@connectrpc/connect-node";
import { codeToHttpStatus, codeToString } from "@connectrpc/connect/protocol-connect";

type NodeHandlerFn = ReturnType<typeof connectNodeAdapter>;
type NodeRequest = Parameters<NodeHandlerFn>[0];
type NodeResponse = Parameters<NodeHandlerFn>[1];

/**
 * Answers a request that is refused before any handler reads its body, in
 * the protocol it speaks, so that every client reads the code and message as
 * it would a handler's error: gRPC and gRPC-Web as a trailers-only answer,
 * a Connect stream as its end-of-stream message, everything else (Connect
 * unary, GET, the NDJSON watch) as an HTTP status with a JSON body.
 */
export function writeRefusal(req: NodeRequest, res: NodeResponse, error: ConnectError, drainBytes: number): void {
  // Read what the client still sends (without decoding it) before answering: an HTTP/1.1 connection closed
  // under a client still writing its body resets, and the client would lose the answer. Past `drainBytes`,
  // or after a second for a client that stalls, the answer goes out anyway and the connection is closed after it.
  if (req.complete || req.readableEnded) return answer(req, res, error);
  let read = 0;
  let answered = false;
  const stalled = setTimeout(() => once(), drainMs);
  stalled.unref();
  const once = () => {
    if (answered) return;
    answered = true;
    clearTimeout(stalled);
    answer(req, res, error);
  };
  req.on("data", (chunk: Buffer) => {
    read += chunk.length;
    if (read > drainBytes) once();
  });
  req.once("end", once);
  req.once("error", once);
}

/** The longest a refused request's body is waited for. */
const drainMs = 1_000;

/** A Connect error as the JSON the Connect protocol gives it: `{"code": "...", "message": "..."}`. */
export function errorJson(error: ConnectError): { code: string; message: string } {
  return { code: codeToString(error.code), message: error.rawMessage };
}

function answer(req: NodeRequest, res: NodeResponse, error: ConnectError): void {
  const type = String(req.headers["content-type"] ?? "").toLowerCase();
  const body = errorJson(error);
  if (/^application\/grpc(-web)?([+;]|$)/.test(type)) {
    res.writeHead(200, {
      "content-type": type.startsWith("application/grpc-web") ? "application/grpc-web+proto" : "application/grpc",
      "grpc-status": String(error.code),
      "grpc-message": encodeURIComponent(error.rawMessage),
    });
    res.end();
    return;
  }
  if (type.startsWith("application/connect+")) {
    const json = Buffer.from(JSON.stringify({ error: body }));
    const frame = Buffer.alloc(5 + json.length);
    frame[0] = 0b10; // end of stream
    frame.writeUInt32BE(json.length, 1);
    json.copy(frame, 5);
    res.writeHead(200, { "content-type": type.split(";")[0]! });
    res.end(frame);
    return;
  }
  res.writeHead(codeToHttpStatus(error.code), { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}
