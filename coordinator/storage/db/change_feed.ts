import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import pg from "pg";
import { errorText, type Logger } from "../../log.ts";
import { backoffMs } from "../../domain/retry.ts";
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
/** The longest NOTIFY payload PostgreSQL takes (it must be shorter than 8000 bytes). */
const maxPayloadBytes = 7999;

/**
 * Wake-ups across coordinator replicas on one PostgreSQL database, with
 * LISTEN/NOTIFY: a job created on one replica reaches a poll held on
 * another at once, and so does a cancel. A NOTIFY is delivered only to
 * sessions listening at commit time, so a dropped listener reconnects (with
 * backoff and jitter) and then has every local waiter look again.
 *
 * Messages published in one turn of the event loop go out together, as one
 * NOTIFY where they fit in one payload (each NOTIFY is a round trip and, on
 * the server, a commit): a lone message waits one setImmediate at most.
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
        const delay = backoffMs(attempt + 1, 250, 10_000);
        log.warn("cannot listen for changes; retrying", { error: errorText(error), retryInMs: Math.round(delay) });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  };
  await connect(false);

  /** The messages of this turn, and the promise of their NOTIFY, which every publisher among them awaits. */
  let batch: { messages: ChangeMessage[]; sent: Promise<void> } | null = null;
  const sending = new Set<Promise<void>>();
  const send = async (messages: ChangeMessage[]): Promise<void> => {
    await new Promise((resolve) => setImmediate(resolve));
    batch = null;
    const payloads = notifyPayloads(origin, mergeMessages(messages));
    await sql`SELECT pg_notify(${channel}, p) FROM unnest(${payloads}::text[]) AS p`.execute(db);
  };

  return {
    publish(message) {
      if (!batch) {
        const messages: ChangeMessage[] = [];
        const sent = send(messages);
        sending.add(sent);
        void sent.catch(() => {}).finally(() => sending.delete(sent));
        batch = { messages, sent };
      }
      batch.messages.push(message);
      return batch.sent;
    },
    async close() {
      await Promise.allSettled(sending);
      closed = true;
      await client?.end().catch(() => {});
    },
  };
}

/** Several messages as one: each list the union of theirs. */
export function mergeMessages(messages: readonly ChangeMessage[]): ChangeMessage {
  const union = (pick: (m: ChangeMessage) => string[]) => [...new Set(messages.flatMap(pick))];
  return { ready: union((m) => m.ready), launchers: union((m) => m.launchers), changed: union((m) => m.changed) };
}

/**
 * A message as NOTIFY payloads, each within PostgreSQL's limit: as few as
 * the ids allow, one when they fit.
 */
export function notifyPayloads(origin: string, message: ChangeMessage): string[] {
  type Part = { origin: string } & ChangeMessage;
  const empty = (): Part => ({ origin, ready: [], launchers: [], changed: [] });
  const emptyBytes = Buffer.byteLength(JSON.stringify(empty()));
  const parts: Part[] = [];
  let part = empty();
  let bytes = emptyBytes;
  for (const list of ["ready", "launchers", "changed"] as const) {
    for (const id of message[list]) {
      // The id, quoted and escaped as JSON, and at most one comma before it.
      const size = Buffer.byteLength(JSON.stringify(id)) + 1;
      if (emptyBytes + size > maxPayloadBytes) {
        throw new Error(`Cannot announce "${id.slice(0, 80)}..." to other coordinators: too long for a NOTIFY payload`);
      }
      if (bytes + size > maxPayloadBytes) {
        parts.push(part);
        part = empty();
        bytes = emptyBytes;
      }
      bytes += size;
      part[list].push(id);
    }
  }
  parts.push(part);
  return parts.map((p) => JSON.stringify(p));
}
