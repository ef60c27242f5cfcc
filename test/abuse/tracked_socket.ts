/**
 * A raw TCP connection to the coordinator that an attack writes by hand,
 * and that records when the coordinator closed it. What arrives is read and
 * dropped, unless it is opened paused: a reader that never reads, whose
 * kernel buffers fill (and which, until resumed, cannot see the end either).
 */
import { once } from "node:events";
import net from "node:net";
import type { Closing } from "./attack_load.ts";

export class TrackedSocket implements Closing {
  /** When it connected and (once it has) closed, as performance.now(). */
  readonly openedAt: number;
  closedAt: number | null = null;
  readonly closed: Promise<number>;

  private constructor(private readonly socket: net.Socket, paused: boolean) {
    this.openedAt = performance.now();
    if (paused) socket.pause();
    else socket.resume();
    socket.on("error", () => {}); // reset by the coordinator, or a write after it closed; "close" follows
    this.closed = new Promise((resolve) =>
      socket.once("close", () => {
        this.closedAt = performance.now();
        resolve(this.closedAt);
      })
    );
  }

  /** Connects to `port` on 127.0.0.1. */
  static async open(port: number, options: { paused?: boolean } = {}): Promise<TrackedSocket> {
    const socket = net.connect(port, "127.0.0.1");
    await once(socket, "connect");
    return new TrackedSocket(socket, options.paused ?? false);
  }

  /** Reads (and drops) what arrives from now on, so that the end of the stream is seen. */
  resume(): void {
    this.socket.resume();
  }

  /** Writes, unless the coordinator already closed it. */
  send(data: string | Uint8Array): void {
    if (this.closedAt === null && !this.socket.destroyed) this.socket.write(data);
  }

  /** Resolves once what was sent so far left for the kernel. */
  async flushed(): Promise<void> {
    if (this.socket.writableNeedDrain && this.closedAt === null) await once(this.socket, "drain").catch(() => {});
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Opens `count` sockets, 100 connects at a time (the listen backlog is finite). */
export async function openSockets(port: number, count: number, options: { paused?: boolean } = {}): Promise<TrackedSocket[]> {
  const parallel = 100;
  const sockets: TrackedSocket[] = [];
  for (let from = 0; from < count; from += parallel) {
    const batch = Math.min(parallel, count - from);
    sockets.push(...await Promise.all(Array.from({ length: batch }, () => TrackedSocket.open(port, options))));
  }
  return sockets;
}
