// BASELINE, NOT TETHER. A deliberately small job queue whose long poll re-checks
// the queue every 500 ms, as the original Python coordinator did, for the benchmark
// to compare against. It uses the same storage stack as tether (better-sqlite3, WAL,
// synchronous=FULL) so that what differs is the dispatch design: a job created while
// a poll waits is found at the poll's next re-check, 0-500 ms later.
//
// With --handoff it is instead the FLOOR: the least a durable long-poll queue over
// HTTP/1.1 JSON can do on this machine, with no framework, no validation, no
// leases: a create commits its row (fsync) and wakes the longest-waiting poll, which
// claims (without an fsync of its own, as tether's offers) and answers at once.
//
//   node --import tsx bench/baseline/recheck_coordinator.ts --db FILE [--handoff 1]
//
// JSON over HTTP/1.1 on 127.0.0.1:0: POST /create {payload}, POST /poll {max, holdMs},
// POST /finish {ids}, POST /seed {count}. Prints {"msg":"listening","url":...}.
import http from "node:http";
import SQLite from "better-sqlite3";
import { parseFlags } from "../support/emit.ts";

const recheckMs = 500;
const flags = parseFlags(process.argv.slice(2));
const path = flags.db;
const handoff = "handoff" in flags;
/** Held polls waiting for a create (handoff mode), longest-waiting first. */
const waiting: (() => void)[] = [];
const db = new SQLite(path!);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = FULL");
db.exec(`CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY, state INTEGER NOT NULL, payload TEXT NOT NULL);
  CREATE INDEX IF NOT EXISTS jobs_queued ON jobs (id) WHERE state = 0`);
const insert = db.prepare("INSERT INTO jobs (state, payload) VALUES (0, ?)");
const claim = db.prepare(`UPDATE jobs SET state = 1 WHERE id IN (SELECT id FROM jobs WHERE state = 0 ORDER BY id LIMIT ?)
  RETURNING id, payload`);
const finish = db.prepare("UPDATE jobs SET state = 2 WHERE id = ? AND state = 1");
const finishAll = db.transaction((ids: number[]) => ids.forEach((id) => finish.run(id)));
const seed = db.transaction((count: number) => {
  for (let i = 0; i < count; i++) insert.run("{}");
});

type Body = Record<string, unknown>;

async function poll(body: Body, signal: AbortSignal): Promise<Body> {
  const deadline = Date.now() + Number(body.holdMs ?? 30_000);
  for (;;) {
    const rows = handoff ? claimWithoutFsync(Number(body.max ?? 1)) : claim.all(Number(body.max ?? 1)) as { id: number; payload: string }[];
    if (rows.length > 0 || Date.now() >= deadline || signal.aborted) {
      return { jobs: rows.map((r) => ({ id: r.id, payload: JSON.parse(r.payload) })) };
    }
    if (!handoff) {
      await new Promise((r) => setTimeout(r, Math.min(recheckMs, deadline - Date.now())));
      continue;
    }
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", wake);
        const i = waiting.indexOf(wake);
        if (i >= 0) waiting.splice(i, 1);
        resolve();
      };
      const timer = setTimeout(wake, deadline - Date.now());
      signal.addEventListener("abort", wake);
      waiting.push(wake);
    });
  }
}

function claimWithoutFsync(max: number): { id: number; payload: string }[] {
  db.pragma("synchronous = NORMAL");
  try {
    return claim.all(max) as { id: number; payload: string }[];
  } finally {
    db.pragma("synchronous = FULL");
  }
}

function create(payload: unknown): number {
  const id = Number(insert.run(JSON.stringify(payload ?? {})).lastInsertRowid);
  waiting.shift()?.();
  return id;
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = JSON.parse(Buffer.concat(chunks).toString() || "{}") as Body;
    const gone = new AbortController();
    res.on("close", () => gone.abort());
    const reply = (out: Body) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(out));
    };
    if (req.url === "/create") reply({ id: create(body.payload) });
    else if (req.url === "/poll") void poll(body, gone.signal).then(reply);
    else if (req.url === "/finish") reply((finishAll(body.ids as number[]), {}));
    else if (req.url === "/seed") reply((seed(Number(body.count)), {}));
    else {
      res.writeHead(404);
      res.end();
    }
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ msg: "listening", url: `http://127.0.0.1:${port}` })}\n`);
});
process.on("SIGTERM", () => {
  server.closeAllConnections();
  db.close();
  process.exit(0);
});
