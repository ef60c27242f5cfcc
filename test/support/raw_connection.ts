import { once } from "node:events";
import net from "node:net";

export interface RawResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * One HTTP/1.1 connection written and read by hand, to see what a request
 * does to the connection itself: whether the next request on it is answered.
 */
export class RawConnection {
  private received = Buffer.alloc(0);
  private changed: () => void = () => {};
  closed = false;

  private constructor(private readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.changed();
    });
    socket.on("close", () => {
      this.closed = true;
      this.changed();
    });
    socket.on("error", () => {}); // a write the server no longer reads; "close" follows
  }

  static async open(url: string): Promise<RawConnection> {
    const { hostname, port } = new URL(url);
    const socket = net.connect(Number(port), hostname);
    await once(socket, "connect");
    return new RawConnection(socket);
  }

  send(...parts: (string | Uint8Array)[]): void {
    for (const part of parts) this.socket.write(part);
  }

  /**
   * The next whole response (content-length or chunked), or null when the
   * server closed the connection instead. Throws when neither happens within
   * `timeoutMs`: the connection is stuck.
   */
  async nextResponse(timeoutMs = 5_000): Promise<RawResponse | null> {
    const deadline = AbortSignal.timeout(timeoutMs);
    for (;;) {
      const parsed = parseResponse(this.received);
      if (parsed) {
        this.received = this.received.subarray(parsed.length);
        return parsed.response;
      }
      if (this.closed) return null;
      if (deadline.aborted) {
        throw new Error(`the connection neither answered nor closed in ${timeoutMs}ms`);
      }
      await new Promise<void>((resolve) => {
        this.changed = resolve;
        deadline.addEventListener("abort", () => resolve(), { once: true });
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A complete response at the start of `data`, with the bytes it took; null while incomplete. */
function parseResponse(data: Buffer): { response: RawResponse; length: number } | null {
  const headEnd = data.indexOf("\r\n\r\n");
  if (headEnd < 0) return null;
  const [statusLine, ...lines] = data.subarray(0, headEnd).toString("latin1").split("\r\n");
  const headers = Object.fromEntries(lines.map((l) => {
    const colon = l.indexOf(":");
    return [l.slice(0, colon).trim().toLowerCase(), l.slice(colon + 1).trim()];
  }));
  const status = Number(statusLine!.split(" ")[1]);
  let at = headEnd + 4;
  if (headers["transfer-encoding"] !== "chunked") {
    const length = Number(headers["content-length"] ?? 0);
    if (data.length < at + length) return null;
    return { response: { status, headers, body: data.subarray(at, at + length) }, length: at + length };
  }
  const chunks: Buffer[] = [];
  for (;;) {
    const sizeEnd = data.indexOf("\r\n", at);
    if (sizeEnd < 0) return null;
    const size = parseInt(data.subarray(at, sizeEnd).toString("latin1"), 16);
    if (data.length < sizeEnd + 2 + size + 2) return null;
    chunks.push(data.subarray(sizeEnd + 2, sizeEnd + 2 + size));
    at = sizeEnd + 2 + size + 2;
    if (size === 0) return { response: { status, headers, body: Buffer.concat(chunks) }, length: at };
  }
}
