/**
 * The slow and silent clients of attack 4, each a connection that records
 * when its deadline clock started (`startedAt`) and when the coordinator
 * closed it: raw HTTP/1.1 and h2c sockets, and HTTP/2 sessions whose one
 * request's body never ends.
 */
import http2 from "node:http2";
import type { Closing } from "./attack_load.ts";
import { openSockets, type TrackedSocket } from "./tracked_socket.ts";

/** A connection of the attack, with the moment its deadline is counted from. */
export interface SlowClient extends Closing {
  readonly startedAt: number;
  /** Sends one more byte of what it is slow at (nothing, for a silent one). */
  drip(): void;
  close(): void;
}

/** The HTTP/2 connection preface and an empty SETTINGS frame: an h2c client that then asks for nothing. */
const h2Preface = Buffer.concat([
  Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1"),
  Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]),
]);

function raw(socket: TrackedSocket, startedAt: number, drip: () => void = () => {}): SlowClient {
  return {
    startedAt,
    get closedAt() {
      return socket.closedAt;
    },
    closed: socket.closed,
    drip,
    close: () => socket.close(),
  };
}

/** Connections that send nothing at all. */
export async function silent(port: number, count: number): Promise<SlowClient[]> {
  return (await openSockets(port, count)).map((s) => raw(s, s.openedAt));
}

/** h2c connections that send the preface and settings, and never a request. */
export async function h2PrefaceOnly(port: number, count: number): Promise<SlowClient[]> {
  return (await openSockets(port, count)).map((s) => {
    s.send(h2Preface);
    return raw(s, s.openedAt);
  });
}

/** HTTP/1.1 requests whose headers arrive a byte per drip, and never end. */
export async function slowHeaders(port: number, count: number): Promise<SlowClient[]> {
  return (await openSockets(port, count)).map((s) => {
    s.send("POST /tether.v1.JobService/GetJob HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: ");
    return raw(s, s.openedAt, () => s.send("a"));
  });
}

/**
 * HTTP/1.1 requests whose headers are whole and whose body (of
 * `bodyBytes`, of which `sent` come at once) then arrives a byte per drip,
 * if `drips`, or not at all.
 */
export async function slowBodies(
  port: number,
  count: number,
  request: { path: string; token: string; bodyBytes: number; sent: Uint8Array; drips: boolean },
): Promise<SlowClient[]> {
  const head = `POST ${request.path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n` +
    `authorization: Bearer ${request.token}\r\ncontent-length: ${request.bodyBytes}\r\n\r\n`;
  return (await openSockets(port, count)).map((s) => {
    s.send(head);
    const startedAt = performance.now();
    s.send(request.sent);
    return raw(s, startedAt, request.drips ? () => s.send(" ") : () => {});
  });
}

/** HTTP/2 (h2c) sessions with one request each, whose body arrives a byte per drip and never ends. */
export async function h2SlowBodies(url: string, count: number, token: string): Promise<SlowClient[]> {
  return await Promise.all(Array.from({ length: count }, async () => {
    const session = http2.connect(url);
    session.on("error", () => {});
    await new Promise<void>((resolve, reject) => session.once("connect", () => resolve()).once("error", reject));
    let closedAt: number | null = null;
    const closed = new Promise<number>((resolve) =>
      session.once("close", () => {
        closedAt = performance.now();
        resolve(closedAt);
      })
    );
    const stream = session.request({
      ":method": "POST",
      ":path": "/tether.v1.JobService/GetJob",
      "content-type": "application/json",
      authorization: `Bearer ${token}`,
    });
    stream.on("error", () => {});
    stream.write('{"id":');
    return {
      startedAt: performance.now(),
      get closedAt() {
        return closedAt;
      },
      closed,
      drip: () => {
        if (!stream.destroyed && !stream.closed) stream.write(" ");
      },
      close: () => session.destroy(),
    };
  }));
}
