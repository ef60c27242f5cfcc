import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { type Child, startProgram } from "./child.ts";
import { sleep } from "./clock.ts";

export interface RedisServer {
  url: string;
  port: number;
  pid: number;
  /** Commands the server has processed so far. */
  commandCount(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Starts a private redis-server (Debian's) on 127.0.0.1 and a free port, with
 * an append-only file synced every second (its usual durable setting) in a
 * fresh folder.
 */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "tether-bench-redis-"));
  const child: Child = startProgram("redis-server", "redis-server", [
    "--bind", "127.0.0.1", "--port", String(port), "--dir", dir, "--save", "",
    "--appendonly", "yes", "--appendfsync", "everysec", "--maxclients", "10000", "--protected-mode", "yes",
  ]);
  const client = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 0 });
  client.on("error", () => {}); // refused while the server starts; the loop below retries
  for (let i = 0; ; i++) {
    try {
      await client.connect();
      break;
    } catch (error) {
      if (i > 50) throw new Error(`redis-server did not start on port ${port}: ${String(error)}\n${child.tail()}`);
      client.disconnect();
      await sleep(100);
    }
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    async commandCount() {
      const info = await client.info("stats");
      // Minus the INFO command that asked.
      return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? 0);
    },
    async stop() {
      client.disconnect();
      await child.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
