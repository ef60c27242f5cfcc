import type { AddressInfo } from "node:net";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { JobService } from "../../gen/tether/v1/job_service_pb.ts";
import { LauncherService } from "../../gen/tether/v1/launcher_service_pb.ts";
import { OperatorService } from "../../gen/tether/v1/operator_service_pb.ts";
import { SessionService } from "../../gen/tether/v1/session_pb.ts";
import { type Coordinator, type CoordinatorOptions, createCoordinator } from "../../coordinator/app.ts";
import { type CoordinatorConfig, defaults } from "../../coordinator/config.ts";
import { silentLogger } from "../../coordinator/log.ts";
import { freshDatabase } from "./test_database.ts";
import { bearer, issueTestTokens, type TestTokens } from "./test_tokens.ts";

export interface TestCoordinator {
  url: string;
  dbPath: string;
  coordinator: Coordinator;
  /** One token of each role. */
  tokens: TestTokens;
  /** Clients with the client token. */
  jobs: Client<typeof JobService>;
  sessions: Client<typeof SessionService>;
  /** With the admin token. */
  operator: Client<typeof OperatorService>;
  /** A LauncherService client sending `token` (the registration token unless given). */
  launcherClient(token?: string): Client<typeof LauncherService>;
  /** Stops the server; the database file stays for a restart. */
  stop(): Promise<void>;
  /** Stops the server and deletes the database. */
  close(): Promise<void>;
}

/** Clients speaking Connect JSON over HTTP/1.1 to a URL, as curl would, each with the token of its role. */
export function clientsFor(url: string, tokens: TestTokens) {
  const transport = (token: string) =>
    createConnectTransport({ baseUrl: url, httpVersion: "1.1", interceptors: [bearer(token)] });
  const people = transport(tokens.client);
  return {
    tokens,
    jobs: createClient(JobService, people),
    sessions: createClient(SessionService, people),
    operator: createClient(OperatorService, transport(tokens.admin)),
    launcherClient: (token = tokens.registration) => createClient(LauncherService, transport(token)),
  };
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
    ...clientsFor(url, await issueTestTokens(coordinator.engine.db)),
    stop,
    async close() {
      await stop();
      await fresh?.drop();
    },
  };
}

/** Resolves once `check` returns true, re-checking after each macrotask. For in-process state only. */
export async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
