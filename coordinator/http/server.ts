import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { TLSSocket } from "node:tls";
import { createContextValues } from "@connectrpc/connect";
import type { Engine } from "../dispatch/engine.ts";
import { authGate, healthPath, principalInterceptor } from "./auth_gate.ts";
import { principalKey } from "../auth/principal.ts";
import { bodyLimit } from "../api/body_limits.ts";
import { errorInterceptor } from "../api/error_interceptor.ts";
import { connectAdapter } from "./connect_adapter.ts";
import { connectionGuard } from "./connection_guard.ts";
import { checkHosts } from "./host_check.ts";
import { routes } from "../api/routes.ts";
import { serveWatchNdjson } from "./watch_ndjson.ts";

/** The first bytes of every HTTP/2 connection without TLS (h2c, as gRPC clients send it). */
const h2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** A certificate chain and its private key, PEM. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/**
 * Builds the coordinator's server, unstarted: Connect, gRPC and gRPC-Web on
 * one port. Without TLS it speaks HTTP/1.1 and h2c: a connection goes to the
 * HTTP/2 server when it opens with the h2c preface, else to the HTTP/1.1
 * one. With TLS it speaks HTTP/1.1 and HTTP/2 as ALPN chooses. Every request
 * passes the Host and Origin check first. The caller listens (tests on port 0).
 */
export function createServer(
  engine: Engine,
  tls: TlsMaterial | null = null,
): { server: net.Server; closeIdle(): void } {
  const gate = authGate(engine);
  const handler = checkHosts(gate.wrap(connectAdapter({
    routes: routes(engine),
    readMaxBytes: engine.config.readMaxBytes,
    maxBytesOf: (rpc) => bodyLimit(rpc.method, engine.config.readMaxBytes),
    maxEntries: engine.config.maxRequestEntries,
    stallTimeoutMs: engine.config.stallTimeoutMs,
    maxBodyMemory: engine.config.maxBodyMemory,
    log: engine.log,
    interceptors: [errorInterceptor(engine.log), principalInterceptor()],
    contextValues: (req) => createContextValues().set(principalKey, gate.principalOf(req)),
    // A misspelt field must be an error, not a silently dropped value.
    jsonOptions: { ignoreUnknownFields: false },
    fallback(req, res) {
      if (serveWatchNdjson(engine, gate.principalOf(req), req, res)) return;
      const [status, text] = req.url?.split(/[?#]/)[0] === healthPath
        ? [200, "ok\n"]
        : [404, "Not found. RPCs are POST /tether.v1.<Service>/<Method>; see the README.\n"];
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(text);
    },
  })), {
    allowedHosts: engine.config.allowedHosts,
    listenHost: engine.config.host,
    schemes: tls ? ["https"] : engine.config.behindTlsProxy ? ["http", "https"] : ["http"],
  }, engine.config.readMaxBytes);
  const { config } = engine;
  const guard = connectionGuard(config);
  // Streams one HTTP/2 connection may carry at once; a client that wants more opens another connection.
  const settings = { maxConcurrentStreams: config.maxStreamsPerConnection };
  if (tls) {
    // noDelay: answers go out as they are written (Nagle would hold a small response back for an ACK).
    const server = http2.createSecureServer({
      cert: tls.cert,
      key: tls.key,
      allowHTTP1: true,
      noDelay: true,
      settings,
      // A connection that never completes its handshake is dropped like one that never sends its headers.
      handshakeTimeout: config.headersTimeoutMs,
    }, handler);
    // Long polls and watch streams are idle by design: the guard's deadlines apply, not a socket timeout.
    server.setTimeout(0);
    // Read by the HTTP/1.1 code allowHTTP1 runs (the guard closes idle connections as well).
    Object.assign(server, { keepAliveTimeout: config.idleTimeoutMs });
    server.maxConnections = config.maxConnections;
    server.on("secureConnection", (socket: TLSSocket) => {
      if (socket.alpnProtocol !== "h2") guard.accepted(socket);
    });
    // With allowHTTP1, an HTTP/1.1 request arrives as http.IncomingMessage despite the event's type.
    server.on("request", (req: http.IncomingMessage | http2.Http2ServerRequest, res: unknown) => {
      if (req.httpVersionMajor === 1) guard.request(req as http.IncomingMessage, res as http.ServerResponse);
    });
    server.on("session", guard.session);
    return { server, closeIdle: guard.closeIdle };
  }
  const h1 = http.createServer(handler);
  // The guard keeps the deadlines (Node checks its own only on connections an http.Server accepted itself).
  h1.timeout = 0;
  h1.keepAliveTimeout = config.idleTimeoutMs;
  h1.on("request", guard.request);
  const h2 = http2.createServer({ settings }, handler);
  h2.setTimeout(0);
  h2.on("session", guard.session);

  // noDelay: answers go out as they are written (Nagle would hold a small response back for an ACK).
  const server = net.createServer({ noDelay: true }, (socket) => {
    guard.accepted(socket);
    let head = Buffer.alloc(0);
    const sniff = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const n = Math.min(head.length, h2Preface.length);
      const isH2 = head.subarray(0, n).equals(h2Preface.subarray(0, n));
      if (isH2 && head.length < h2Preface.length) return; // not sure yet
      socket.off("data", sniff);
      socket.pause();
      socket.unshift(head);
      if (isH2) guard.http2(socket);
      (isH2 ? h2 : h1).emit("connection", socket);
      // The HTTP/2 server reads the socket itself; resuming it here would lose the preface.
      if (!isH2) socket.resume();
    };
    socket.on("data", sniff);
    socket.on("error", () => socket.destroy());
  });
  server.maxConnections = config.maxConnections;
  return { server, closeIdle: guard.closeIdle };
}
