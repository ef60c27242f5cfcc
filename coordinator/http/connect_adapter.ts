import { Code, ConnectError, type ConnectRouter, type ConnectRouterOptions, type ContextValues, createConnectRouter } from "@connectrpc/connect";
import {
  type connectNodeAdapter,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import { errorText, type Logger } from "../log.ts";
import { acceptCompression, BodyMemory, checkGetMessage, framingOf, withinEntryBudget } from "./entry_budget.ts";
import { cutOff } from "./cut_off.ts";
import { writeRefusal } from "./refusal_response.ts";

type NodeHandlerFn = ReturnType<typeof connectNodeAdapter>;
type NodeRequest = Parameters<NodeHandlerFn>[0];
type NodeResponse = Parameters<NodeHandlerFn>[1];

export interface AdapterOptions extends ConnectRouterOptions {
  readonly routes: (router: ConnectRouter) => void;
  readonly contextValues: (req: NodeRequest) => ContextValues;
  /** Answers a request for a path no RPC has. */
  readonly fallback: NodeHandlerFn;
  /** The entries (object keys and array elements) one request message may hold; see api/entry_count.ts. */
  readonly maxEntries: number;
  /** The largest body an RPC takes, by its method. */
  readonly maxBytesOf: (handler: UniversalHandler) => number;
  /** The bytes of request bodies held at once, across all requests. */
  readonly maxBodyMemory: number;
  /** An answer whose reader takes nothing of it for this long is cut off. */
  readonly stallTimeoutMs: number;
  readonly log: Logger;
}

/**
 * Connect's Node adapter (`connectNodeAdapter`), with one step more: every
 * request's message is counted before Connect decodes it, and one with more
 * entries than `maxEntries` is refused with INVALID_ARGUMENT, so that no
 * body costs more than a few milliseconds of decoding; and an answer whose
 * reader takes nothing for `stallTimeoutMs` is cut off, so that a stuck
 * reader holds no more than the buffers it filled, and not for long. The
 * rest is Connect's own: the router, its protocols, the conversion to and
 * from Node's types.
 */
export function connectAdapter(options: AdapterOptions): NodeHandlerFn {
  const router = createConnectRouter({ ...options, acceptCompression });
  options.routes(router);
  const handlers = new Map(router.handlers.map((h) => [h.requestPath, h]));
  const memory = new BodyMemory(options.maxBodyMemory);
  return (req, res) => {
    const handler = handlers.get(req.url?.split("?", 2)[0] ?? "");
    if (!handler) return options.fallback(req, res);
    const limits = { maxEntries: options.maxEntries, maxBytes: options.maxBytesOf(handler), memory };
    const uReq = universalRequestFromNodeRequest(req, res, undefined, options.contextValues(req));
    const framing = framingOf(uReq.header);
    if (uReq.method === "GET") {
      checkGetMessage(new URL(uReq.url), handler.method.input, limits).then(
        () => serve(handler, uReq, res, options),
        (error: unknown) => writeRefusal(req, res, ConnectError.from(error), 0),
      );
      return;
    }
    const body = framing && isAsyncIterable(uReq.body)
      ? withinEntryBudget(uReq.body, handler.method.input, framing, limits)
      : uReq.body;
    serve(handler, { ...uReq, body }, res, options);
  };
}

function serve(
  handler: UniversalHandler,
  uReq: Parameters<UniversalHandler>[0],
  res: NodeResponse,
  { stallTimeoutMs, log }: AdapterOptions,
): void {
  const rpc = `${handler.service.typeName}/${handler.method.name}`;
  const onStall = () => {
    log.warn("cut off an answer whose reader took nothing", { rpc, stalledMs: stallTimeoutMs });
    cutOff(res);
  };
  handler(uReq)
    .then((uRes) => {
      const body = uRes.body && cutWhenStalled(uRes.body, stallTimeoutMs, onStall);
      return universalResponseToNodeResponse({ ...uRes, body }, res);
    })
    .catch((reason: unknown) => {
      // As connectNodeAdapter: a client that went away aborts its call, which is no failure of ours.
      if (ConnectError.from(reason).code === Code.Aborted) return;
      log.error("answer failed", { rpc, error: errorText(reason) });
    });
}

/**
 * `body` as Connect's writer reads it: it asks for the next chunk only once
 * the last one is written out (the socket drained), so a chunk not followed
 * by a request for the next within `stallMs` means the reader is stuck.
 */
function cutWhenStalled(body: AsyncIterable<Uint8Array>, stallMs: number, onStall: () => void): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]() {
      const chunks = body[Symbol.asyncIterator]();
      let stalled: NodeJS.Timeout | undefined;
      return {
        async next() {
          clearTimeout(stalled);
          const chunk = await chunks.next();
          if (!chunk.done) stalled = setTimeout(onStall, stallMs);
          return chunk;
        },
        async return(value?: unknown) {
          clearTimeout(stalled);
          return await chunks.return?.(value) ?? { done: true, value: undefined };
        },
        async throw(error?: unknown) {
          clearTimeout(stalled);
          if (chunks.throw) return await chunks.throw(error);
          throw error;
        },
      };
    },
  };
}

function isAsyncIterable(body: unknown): body is AsyncIterable<Uint8Array> {
  return typeof body === "object" && body !== null && Symbol.asyncIterator in body;
}
