import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * One answer of the stand-in Messages API: a streamed assistant message of
 * text (the default: "stand-in answer to: <the last user text>") or of one
 * tool call, or an HTTP error with Anthropic's error body.
 */
export type Turn =
  | { readonly text: string; readonly deltas?: number; readonly deltaEveryMs?: number }
  | { readonly toolUse: { readonly name: string; readonly input: Record<string, unknown> } }
  | { readonly status: number; readonly errorType: string; readonly message?: string };

/** A request the stand-in answered: its path and query, and its JSON body. */
export interface SeenRequest {
  readonly url: string;
  readonly body: {
    readonly model?: string;
    readonly stream?: boolean;
    readonly system?: unknown;
    readonly messages?: readonly { readonly role: string; readonly content: unknown }[];
  };
}

/**
 * A stand-in for Anthropic's Messages API on 127.0.0.1, port 0, for running
 * the real Claude Code CLI offline (`ANTHROPIC_BASE_URL` pointed at it). It
 * answers `POST /v1/messages` with the SSE stream the API sends (message_start,
 * content blocks and their deltas, message_delta, message_stop), one scripted
 * turn per request, and records every request, so that a test can check what
 * the CLI sent (a resumed session's history, say). Anything else is a 404.
 */
export class MessagesApi {
  readonly requests: SeenRequest[] = [];
  private readonly turns: Turn[] = [];

  private constructor(private readonly server: http.Server, readonly url: string) {}

  static async start(): Promise<MessagesApi> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const api = new MessagesApi(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on("request", (req, res) => api.answer(req, res));
    return api;
  }

  /** The next requests' answers, in order; past them, each request gets the default text. */
  script(...turns: Turn[]): void {
    this.turns.push(...turns);
  }

  /** The texts of the user's turns in one request's history, in order. */
  static userTexts(request: SeenRequest): string[] {
    return (request.body.messages ?? []).filter((m) => m.role === "user").flatMap((m) => textsOf(m.content));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => raw += chunk);
    req.on("end", () => {
      if (req.method !== "POST" || !req.url?.startsWith("/v1/messages")) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ type: "error", error: { type: "not_found_error", message: `no ${req.url}` } }));
        return;
      }
      const request: SeenRequest = { url: req.url, body: JSON.parse(raw || "{}") as SeenRequest["body"] };
      this.requests.push(request);
      const turn = this.turns.shift() ?? { text: `stand-in answer to: ${MessagesApi.userTexts(request).at(-1) ?? ""}` };
      if ("status" in turn) {
        res.writeHead(turn.status, { "content-type": "application/json" });
        res.end(JSON.stringify({ type: "error", error: { type: turn.errorType, message: turn.message ?? turn.errorType } }));
        return;
      }
      const model = request.body.model ?? "claude-stand-in";
      if ("toolUse" in turn) streamToolUse(res, model, turn.toolUse);
      else void streamText(res, model, turn.text, turn.deltas ?? 1, turn.deltaEveryMs ?? 0);
    });
  }
}

/** The text parts of a message's content (a string, or blocks of which some are text). */
function textsOf(content: unknown): string[] {
  if (typeof content === "string") return [content];
  if (!Array.isArray(content)) return [];
  return content.flatMap((block: { type?: string; text?: string }) =>
    block.type === "text" && typeof block.text === "string" ? [block.text] : []
  );
}

/**
 * An assistant message of `text`, streamed as the Messages API streams it,
 * in `deltas` pieces `everyMs` apart (a slow model); it stops when the
 * client goes away.
 */
async function streamText(res: http.ServerResponse, model: string, text: string, deltas: number, everyMs: number) {
  const send = startMessage(res, model);
  send("content_block_start", { index: 0, content_block: { type: "text", text: "" } });
  const size = Math.ceil(text.length / deltas);
  for (let at = 0; at < text.length && !res.destroyed; at += size) {
    if (at > 0 && everyMs > 0) await new Promise((resolve) => setTimeout(resolve, everyMs));
    send("content_block_delta", { index: 0, delta: { type: "text_delta", text: text.slice(at, at + size) } });
  }
  if (res.destroyed) return;
  endMessage(send, "end_turn");
  res.end();
}

/** An assistant message asking for one tool call, streamed as the Messages API streams it. */
function streamToolUse(res: http.ServerResponse, model: string, call: { name: string; input: Record<string, unknown> }): void {
  const send = startMessage(res, model);
  send("content_block_start", {
    index: 0,
    content_block: { type: "tool_use", id: `toolu_${Date.now()}`, name: call.name, input: {} },
  });
  send("content_block_delta", { index: 0, delta: { type: "input_json_delta", partial_json: JSON.stringify(call.input) } });
  endMessage(send, "tool_use");
  res.end();
}

type Send = (type: string, data: object) => void;

function startMessage(res: http.ServerResponse, model: string): Send {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const send: Send = (type, data) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  send("message_start", {
    message: {
      id: `msg_${Date.now()}`,
      type: "message",
      role: "assistant",
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 12, output_tokens: 1 },
    },
  });
  return send;
}

function endMessage(send: Send, stopReason: "end_turn" | "tool_use"): void {
  send("content_block_stop", { index: 0 });
  send("message_delta", { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: 7 } });
  send("message_stop", {});
}
