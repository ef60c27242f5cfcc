import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import pg from "pg";
import { errorText, type Logger } from "../log.ts";
import type { Db } from "./open_database.ts";

/** What one coordinator tells the others after a commit. */
export interface ChangeMessage {
  /** Jobs that became ready to dispatch. */
  ready: string[];
  /** Launchers whose held polls must look again for commands. */
  launchers: string[];
  /** Jobs whose state or events changed (for watch streams and deadlines). */
  changed: string[];
}

export interface ChangeFeed {
  publish(message: ChangeMessage): Promise<void>;
  close(): Promise<void>;
}

export interface FeedHandlers {
  /** A message from another coordinator. */
  onMessage(message: ChangeMessage): void;
  /** The feed reconnected: messages may have been missed, so everything held must look again. */
  onResync(): void;
}

const channel = "tether_changes";
/** NOTIFY payloads must stay under 8000 bytes; ids are about 30 bytes each. */
const idsPerMessage = 200;

/**
 * Wake-ups across coordinator replicas on one PostgreSQL database, with
 * LISTEN/NOTIFY: a job created on one replica reaches a poll held on
 * another at once, and so does a cancel. A NOTIFY is delivered only to
 * sessions listening at commit time, so a dropped listener reconnects (with
 * backoff and jitter) and then has every local waiter look again.
 */
export async function openChangeFeed(url: string, db: Db, handlers: FeedHandlers, log: Logger): Promise<ChangeFeed> {
  const origin = randomUUID();
  let client: pg.Client | null = null;
  let closed = false;

  const connect = async (reconnecting: boolean): Promise<void> => {
    for (let attempt = 0; !closed; attempt++) {
      const next = new pg.Client({ connectionString: url });
      try {
        await next.connect();
        next.on("notification", (n) => {
          if (!n.payload) return;
          const message = JSON.parse(n.payload) as ChangeMessage & { origin: string };
          if (message.origin !== origin) handlers.onMessage(message);
        });
        next.on("error", (error) => {
          log.warn("change feed lost its connection; reconnecting", { error: errorText(error) });
          void next.end().catch(() => {});
          if (client === next) {
            client = null;
            void connect(true);
          }
        });
        await next.query(`LISTEN ${channel}`);
        client = next;
        if (reconnecting) handlers.onResync();
        return;
      } catch (error) {
        await next.end().catch(() => {});
        const delay = Math.min(10_000, 250 * 2 ** attempt) * (0.5 + Math.random() / 2);
        log.warn("cannot listen for changes; retrying", { error: errorText(error), retryInMs: Math.round(delay) });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  };
  await connect(false);

  return {
    async publish(message) {
      const parts = Math.max(1, ...[message.ready, message.launchers, message.changed].map((l) => Math.ceil(l.length / idsPerMessage)));
      for (let i = 0; i < parts; i++) {
        const slice = (l: string[]) => l.slice(i * idsPerMessage, (i + 1) * idsPerMessage);
        const payload = JSON.stringify({
          origin,
          ready: slice(message.ready),
          launchers: slice(message.launchers),
          changed: slice(message.changed),
        });
        await sql`SELECT pg_notify(${channel}, ${payload})`.execute(db);
      }
    },
    async close() {
      closed = true;
      await client?.end().catch(() => {});
    },
  };
}
