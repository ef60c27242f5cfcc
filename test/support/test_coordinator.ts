import type { AddressInfo } from "node:net";
import { type Coordinator, type CoordinatorOptions, createCoordinator } from "../../coordinator/app.ts";
import { type CoordinatorConfig, defaults } from "../../coordinator/config.ts";
import { silentLogger } from "../../coordinator/log.ts";
import { clientsFor, type RoleClients } from "../../tools/support/connect_clients.ts";
import { issueRoleTokens } from "../../tools/support/role_tokens.ts";
import { freshDatabase } from "./test_database.ts";

/** An in-process coordinator with clients of each role (`tokens` is one token of each). */
export interface TestCoordinator extends RoleClients {
  url: string;
  dbPath: string;
  coordinator: Coordinator;
  /** Stops the server; the database file stays for a restart. */
  stop(): Promise<void>;
  /** Stops the server and deletes the database. */
  close(): Promise<void>;
}

/**
 * A real coordinator on 127.0.0.1, port 0, on a fresh database of the test
 * backend (a SQLite file, or a PostgreSQL database in the "postgres" vitest
 * project), or on `dbPath` to restart on the same database.
 */
export async function startTestCoordinator(
  overrides: Partial<CoordinatorConfig> = {},
  dbPath?: string,
  options: CoordinatorOptions = {},
): Promise<TestCoordinator> {
  const fresh = dbPath ? null : await freshDatabase();
  const db = dbPath ?? fresh!.url;
  const config = Object.freeze({ ...defaults, host: "127.0.0.1", port: 0, db, ...overrides });
  const coordinator = await createCoordinator(config, silentLogger, options);
  await new Promise<void>((resolve) => coordinator.server.listen(0, "127.0.0.1", resolve));
  const { port } = coordinator.server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const stop = () => coordinator.close();
  return {
    url,
    dbPath: db,
    coordinator,
    ...clientsFor(url, await issueRoleTokens(coordinator.engine.db, "test")),
    stop,
    async close() {
      await stop();
      await fresh?.drop();
    },
  };
}

/** Resolves once `check` (synchronous: in-process state, or a quick look at /proc) returns true, re-checking every 5 ms. */
export async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
