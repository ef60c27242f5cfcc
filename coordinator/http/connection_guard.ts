import type http from "node:http";
import http2 from "node:http2";
import type net from "node:net";

/** How long a connection may take over each part of a request, and how long it may sit idle. */
export interface ConnectionLimits {
  /** From a connection's start (or the end of its last request) to a request's complete headers. */
  readonly headersTimeoutMs: number;
  /** From a request's headers to the end of its body. */
  readonly requestTimeoutMs: number;
  /** A connection that carries no request for this long is closed. */
  readonly idleTimeoutMs: number;
}

/**
 * Follows every connection and request to enforce the limits above, and to
 * close idle connections at shutdown. Node's own headersTimeout and
 * requestTimeout are checked only for connections an http.Server accepted
 * itself; here the HTTP/1.1 and HTTP/2 servers are handed sockets that one
 * net.Server accepted, so the deadlines are kept here, for both protocols.
 * A request in flight is never idle: a held PollJobs or a watch stream runs
 * as long as its hold or its client's deadline, whatever these limits say.
 */
/** One pending deadline of a connection, set anew or cleared as its requests come and go. */
class Deadline {
  private timer: NodeJS.Timeout | null = null;

  set(ms: number, onExpiry: () => void): void {
    this.clear();
    this.timer = setTimeout(onExpiry, ms);
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

export function connectionGuard(limits: ConnectionLimits) {
  /** HTTP/1.1 connections, with their requests in flight and the deadline for their next request's headers. */
  const sockets = new Map<net.Socket, { busy: number; deadline: Deadline }>();
  /** HTTP/2 sessions, with their open streams and the deadline for their next stream. */
  const sessions = new Map<http2.ServerHttp2Session, { streams: number; deadline: Deadline }>();
  let closing = false;

  return {
    /**
     * A connection just accepted, before its first byte: it must send a
     * request's headers (or, for HTTP/2, its preface) within the headers timeout.
     */
    accepted(socket: net.Socket): void {
      const state = { busy: 0, deadline: new Deadline() };
      sockets.set(socket, state);
      state.deadline.set(limits.headersTimeoutMs, () => socket.destroy());
      socket.on("close", () => {
        state.deadline.clear();
        sockets.delete(socket);
      });
    },

    /** The connection turned out to speak HTTP/2 (its preface arrived): its session keeps its own deadlines. */
    http2(socket: net.Socket): void {
      sockets.get(socket)?.deadline.clear();
      sockets.delete(socket);
    },

    /** An HTTP/1.1 request whose headers arrived. */
    request(req: http.IncomingMessage, res: http.ServerResponse): void {
      const socket = req.socket;
      const state = sockets.get(socket);
      if (!state) return;
      state.deadline.clear();
      state.busy++;
      const body = req.complete ? null : setTimeout(() => {
        // Received whole (if unread, as a GET's empty body may stay): nothing is late.
        if (req.complete) return;
        // The body did not arrive in time: answer 408 if nothing was answered yet, and drop the connection.
        if (!res.headersSent) {
          res.writeHead(408, { "content-type": "text/plain", connection: "close" });
          res.end(`The request body did not arrive within ${limits.requestTimeoutMs} ms.\n`);
        }
        socket.destroy();
      }, limits.requestTimeoutMs);
      req.once("end", () => body && clearTimeout(body));
      // A body the handler stopped reading (too large, or refused) would stall the next request on this socket.
      res.on("finish", () => {
        if (!req.complete) socket.end();
      });
      res.once("close", () => {
        if (body) clearTimeout(body);
        state.busy--;
        if (state.busy > 0) return;
        if (closing) socket.destroy();
        // Until the next request's headers: no longer than the idle timeout.
        else if (!socket.destroyed) state.deadline.set(limits.idleTimeoutMs, () => socket.destroy());
      });
    },

    /** An HTTP/2 session: it must open a stream soon, and is closed once idle. */
    session(session: http2.ServerHttp2Session): void {
      const state = { streams: 0, deadline: new Deadline() };
      sessions.set(session, state);
      state.deadline.set(limits.headersTimeoutMs, () => session.close());
      session.on("stream", (stream) => {
        state.streams++;
        state.deadline.clear();
        // A request without a body (END_STREAM on its headers, as a GET) has nothing to be late with.
        const body = stream.endAfterHeaders
          ? undefined
          : setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), limits.requestTimeoutMs);
        stream.once("end", () => clearTimeout(body));
        stream.once("close", () => {
          clearTimeout(body);
          state.streams--;
          if (state.streams === 0 && !session.closed) state.deadline.set(limits.idleTimeoutMs, () => session.close());
        });
      });
      session.on("close", () => {
        state.deadline.clear();
        sessions.delete(session);
      });
      if (closing) session.close();
    },

    /** Closes the connections that carry no request, and each of the others once its last request ends. */
    closeIdle(): void {
      closing = true;
      for (const [socket, state] of sockets) if (state.busy === 0) socket.destroy();
      for (const session of sessions.keys()) session.close();
    },
  };
}
