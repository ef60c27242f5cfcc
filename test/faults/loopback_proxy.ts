import http from "node:http";
import type { AddressInfo } from "node:net";

/** What happens to one response: passed on, lost after the coordinator answered, or delayed. */
export type Fate = "pass" | "drop" | { delayMs: number };

/** One request and the coordinator's complete answer to it, as sent (maybe compressed), for `decide` to look into. */
export interface Exchange {
  readonly request: Buffer;
  readonly requestHeaders: http.IncomingHttpHeaders;
  readonly status: number;
  readonly response: Buffer;
  readonly responseHeaders: http.IncomingHttpHeaders;
}

export interface LoopbackProxy {
  /** The proxy's URL, to give launchers instead of the coordinator's. */
  url: string;
  /** Faults injected so far, by RPC method name. */
  readonly injected: Map<string, number>;
  /** Points the proxy at another upstream (a restarted coordinator on a new port). */
  retarget(upstream: string): void;
  close(): Promise<void>;
}

/**
 * A proxy on 127.0.0.1 between launchers and the coordinator. Every request
 * reaches the coordinator; `decide` then picks the fate of its answer, so a
 * dropped answer is one the coordinator acted on but the launcher never saw
 * (the case peers lose jobs in).
 */
export async function startLoopbackProxy(
  upstream: string,
  decide: (method: string, exchange: Exchange) => Fate,
): Promise<LoopbackProxy> {
  let target = new URL(upstream);
  const injected = new Map<string, number>();
  const count = (method: string) => injected.set(method, (injected.get(method) ?? 0) + 1);
  const server = http.createServer((req, res) => {
    const method = (req.url ?? "").split("/").pop() ?? "";
    const sent: Buffer[] = [];
    req.on("data", (c: Buffer) => sent.push(c));
    const forward = http.request({
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: req.headers,
    }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on("data", (c: Buffer) => chunks.push(c));
      answer.on("end", () => {
        const response = Buffer.concat(chunks);
        const fate = decide(method, {
          request: Buffer.concat(sent),
          requestHeaders: req.headers,
          status: answer.statusCode ?? 502,
          response,
          responseHeaders: answer.headers,
        });
        if (fate === "drop") {
          count(method);
          req.socket.destroy();
          return;
        }
        const send = () => {
          if (res.destroyed) return;
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.end(response);
        };
        if (fate === "pass") return send();
        count(method);
        setTimeout(send, fate.delayMs);
      });
    });
    forward.on("error", () => req.socket.destroy());
    // A client that gives up (a poll cut short, a timeout) goes away upstream too, as behind a real proxy.
    res.on("close", () => {
      if (!res.writableFinished) forward.destroy();
    });
    req.pipe(forward);
  });
  server.timeout = 0;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    injected,
    retarget(next) {
      target = new URL(next);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
