import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Engine } from "./engine.ts";
import { errorInterceptor } from "./error_interceptor.ts";
import { routes } from "./routes.ts";
import { serveWatchNdjson } from "./watch_ndjson.ts";

/** The first bytes of every HTTP/2 connection without TLS (h2c, as gRPC clients send it). */
const h2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * Builds the coordinator's server, unstarted: Connect, gRPC and gRPC-Web
 * over HTTP/1.1 and h2c on one port. A connection goes to the HTTP/2 server
 * when it opens with the h2c preface, else to the HTTP/1.1 one. The caller
 * listens (tests on port 0).
 */
export function createServer(engine: Engine): { server: net.Server; closeIdle(): void } {
  const handler = connectNodeAdapter({
    routes: routes(engine),
    readMaxBytes: engine.config.readMaxBytes,
    interceptors: [errorInterceptor(engine.log)],
    // A misspelt field must be an error, not a silently dropped value.
    jsonOptions: { ignoreUnknownFields: false },
    fallback(req, res) {
      if (serveWatchNdjson(engine, req, res)) return;
      const [status, text] = req.url === "/healthz"
        ? [200, "ok\n"]
        : [404, "Not found. RPCs are POST /tether.v1.<Service>/<Method>; see the README.\n"];
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(text);
    },
  });
  const h1 = http.createServer(handler);
  // Long polls and watch streams are idle by design: no socket idle timeout.
  h1.timeout = 0;
  h1.keepAliveTimeout = 65_000;
  // http.Server tracks its connections only when it listens itself, which it does not here.
  const busy = new Map<net.Socket, number>();
  let closing = false;
  h1.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    // A body the handler stopped reading (too large) would stall the next request on this socket.
    res.on("finish", () => {
      if (!req.complete) socket.end();
    });
    res.on("close", () => {
      const n = (busy.get(socket) ?? 1) - 1;
      busy.set(socket, n);
      if (closing && n === 0) socket.destroy();
    });
  });
  const h2 = http2.createServer(handler);
  h2.setTimeout(0);
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });

  // noDelay: answers go out as they are written (Nagle would hold a small response back for an ACK).
  const server = net.createServer({ noDelay: true }, (socket) => {
    let head = Buffer.alloc(0);
    const sniff = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const n = Math.min(head.length, h2Preface.length);
      const isH2 = head.subarray(0, n).equals(h2Preface.subarray(0, n));
      if (isH2 && head.length < h2Preface.length) return; // not sure yet
      socket.off("data", sniff);
      socket.pause();
      socket.unshift(head);
      if (!isH2) {
        busy.set(socket, 0);
        socket.on("close", () => busy.delete(socket));
      }
      (isH2 ? h2 : h1).emit("connection", socket);
      // The HTTP/2 server reads the socket itself; resuming it here would lose the preface.
      if (!isH2) socket.resume();
    };
    socket.on("data", sniff);
    socket.on("error", () => socket.destroy());
  });
  return {
    server,
    /** Closes keep-alive connections that carry no request, so that close() can finish. */
    closeIdle() {
      closing = true;
      for (const [socket, n] of busy) if (n === 0) socket.destroy();
      for (const session of sessions) session.close();
    },
  };
}
