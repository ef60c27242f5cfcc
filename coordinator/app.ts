import type net from "node:net";
import type { CoordinatorConfig } from "./config.ts";
import type { Clock } from "./domain/clock.ts";
import { Engine } from "./dispatch/engine.ts";
import { FencingTokens } from "./domain/fencing_tokens.ts";
import { errorText, type Logger } from "./log.ts";
import { createServer } from "./http/server.ts";
import { loadKey } from "./storage/coordinator_keys.ts";
import { isPostgresUrl, openDatabase } from "./storage/db/open_database.ts";
import { readTlsFiles } from "./http/tls_files.ts";

export interface Coordinator {
  readonly engine: Engine;
  /** Not yet listening: the caller listens. */
  readonly server: net.Server;
  /** Graceful stop: refuses new connections, answers held polls, ends streams, closes the database. */
  close(): Promise<void>;
}

export interface CoordinatorOptions {
  /** The coordinator's time; tests pass one they move on themselves. */
  clock?: Clock;
}

/** Reads the TLS files, opens the database, runs due work left from before, and builds the server. */
export async function createCoordinator(
  config: CoordinatorConfig,
  log: Logger,
  options: CoordinatorOptions = {},
): Promise<Coordinator> {
  const tls = readTlsFiles(config);
  const db = await openDatabase(config.db, {
    maxBytes: config.dbMaxBytes,
    onIdleError: (error) => log.warn("database connection lost while idle", { error: errorText(error) }),
    onCheckpointError: (error) => log.warn("cannot checkpoint the write-ahead log in a worker thread; commits checkpoint it instead", { error: errorText(error) }),
  });
  const sharedDatabase = isPostgresUrl(config.db);
  const engine = new Engine(db, config, log, new FencingTokens(await loadKey(db, "fencing")), {
    sharedDatabase,
    clock: options.clock,
  });
  if (sharedDatabase) await engine.connectFeed(config.db);
  await engine.start();
  const { server, closeIdle } = createServer(engine, tls);
  const sockets = new Set<net.Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  let closed: Promise<void> | null = null;
  return {
    engine,
    server,
    close() {
      closed ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await engine.stop();
        // Held polls and streams are answered; keep-alive sockets would hold close() open.
        closeIdle();
        const force = setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, 2_000);
        force.unref();
        await stopped;
        clearTimeout(force);
        await db.destroy();
      })();
      return closed;
    },
  };
}
