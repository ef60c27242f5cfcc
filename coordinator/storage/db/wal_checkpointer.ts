import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

export interface CheckpointOptions {
  /** The least time between two checkpoints that run beside the writes. */
  intervalMs: number;
  /**
   * Log frames (pages) after which writes wait for a checkpoint that starts
   * the log over. A checkpoint that runs beside the writes never catches up
   * with a writer that does not pause, and the log would grow without end.
   */
  restartFrames: number;
}

/** How long a checkpoint may take before the checkpointer gives up on its thread. */
const answerMs = 30_000;

const defaultOptions: CheckpointOptions = { intervalMs: 250, restartFrames: 8000 };

/** What the worker answers for each checkpoint: SQLite's (busy, log, checkpointed). */
interface Checkpointed {
  busy: number;
  log: number;
  checkpointed: number;
}

/**
 * The worker: its own connection to the database, which checkpoints when
 * asked. Plain JavaScript, so that it loads wherever the coordinator runs
 * (tsx, vitest, a bundle): better-sqlite3 is required by the path resolved
 * in the main thread.
 */
const workerSource = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
let db = null;
parentPort.on("message", (mode) => {
  if (mode === "close") {
    if (db) db.close();
    parentPort.close();
    return;
  }
  try {
    if (!db) {
      db = new Database(workerData.path, { fileMustExist: true });
      // Only a RESTART waits (PASSIVE never does): briefly, for a write on the coordinator's connection
      // outside the group commit, which would otherwise wait for this checkpoint while holding it up.
      db.pragma("busy_timeout = 250");
      db.pragma("wal_autocheckpoint = 0");
    }
    const [row] = db.pragma("wal_checkpoint(" + mode + ")");
    parentPort.postMessage({ busy: row.busy, log: row.log, checkpointed: row.checkpointed });
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message || error) });
  }
});
`;

/**
 * Checkpoints a SQLite database's write-ahead log in a worker thread, so
 * that no commit on the coordinator's connection (which runs with
 * `wal_autocheckpoint = 0`) pays for one: SQLite's automatic checkpoint
 * copies a thousand pages and syncs the database file inside the commit
 * that crosses the mark, holding the event loop for milliseconds.
 *
 * After a commit, and at most every `intervalMs`, a PASSIVE checkpoint runs
 * beside the writes. When one finds the log longer than `restartFrames` (writes
 * never paused long enough for a checkpoint to finish, so the log could
 * never start over), the group commit waits, between two of its
 * transactions, for a RESTART checkpoint: the log starts over and reads go
 * on meanwhile. Each checkpoint's fsyncs run in the worker too.
 */
export class WalCheckpointer {
  private worker: Worker | null = null;
  private lastStart = -Infinity;
  private running: Promise<Checkpointed> | null = null;
  private mustRestart = false;
  private closed = false;
  private exited = false;
  /** The answers awaited, in order: the worker runs one checkpoint at a time. */
  private readonly waiting: { resolve: (c: Checkpointed) => void; reject: (e: Error) => void }[] = [];

  private readonly options: CheckpointOptions;

  constructor(
    private readonly path: string,
    /** Told once, when a checkpoint fails; the checkpointer has stopped then. */
    private readonly onFailure: (error: Error) => void,
    options: Partial<CheckpointOptions> = {},
  ) {
    this.options = { ...defaultOptions, ...options };
  }

  /**
   * Whether the log must start over before the next write transaction
   * begins; {@link restart} does it.
   */
  get restartDue(): boolean {
    return this.mustRestart && !this.closed;
  }

  /** Hears of a commit; starts a PASSIVE checkpoint unless one ran of late. */
  committed(): void {
    if (this.running || this.closed || performance.now() - this.lastStart < this.options.intervalMs) return;
    this.lastStart = performance.now();
    void this.checkpoint("PASSIVE").then(async (c) => {
      if (c.log <= this.options.restartFrames) return;
      // The log did not start over since it grew this long. Catch up with what was written meanwhile,
      // so that the RESTART, for which writes wait, has little left to copy.
      await this.checkpoint("PASSIVE");
      this.mustRestart = true;
    }).catch((error: Error) => this.fail(error));
  }

  /** Checkpoints the whole log and has the next writer start it over; call with no write transaction open. */
  async restart(): Promise<void> {
    this.mustRestart = false;
    await this.running?.catch(() => {});
    if (this.closed) return;
    await this.checkpoint("RESTART").catch((error: Error) => this.fail(error));
  }

  /** A checkpoint failed: stop, and let the connection checkpoint on its own again. */
  private fail(error: Error): void {
    if (this.closed) return;
    void this.close();
    this.onFailure(error);
  }

  /**
   * Stops: the worker closes its connection once it is done with any
   * checkpoint it runs. Resolves when the thread has ended (and with it
   * whatever it does to the database's files); may be called again to wait.
   */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.worker?.postMessage("close");
    }
    const worker = this.worker;
    if (!worker || this.exited) return Promise.resolve();
    // Whoever waits for this keeps the process alive until the thread has ended.
    worker.ref();
    return new Promise((resolve) => worker.once("exit", () => resolve()));
  }

  private checkpoint(mode: "PASSIVE" | "RESTART"): Promise<Checkpointed> {
    if (this.closed) return Promise.reject(new Error("the checkpointer is closed"));
    const running = new Promise<Checkpointed>((resolve, reject) => {
      // Writes may be waiting for this answer: a thread that never gives it must not hold them forever.
      const timer = setTimeout(() => reject(new Error(`the checkpoint thread did not answer in ${answerMs / 1000} s`)), answerMs);
      timer.unref();
      this.waiting.push({
        resolve: (c) => (clearTimeout(timer), resolve(c)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.started().postMessage(mode);
    }).finally(() => {
      if (this.running === running) this.running = null;
    });
    return this.running = running;
  }

  /** The worker, started at the first checkpoint: a database that is only read needs none. */
  private started(): Worker {
    if (this.worker) return this.worker;
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    const worker = new Worker(workerSource, { eval: true, workerData: { path: this.path, driver } });
    // The coordinator's process must not wait for this thread to end.
    worker.unref();
    worker.on("message", (m: Checkpointed | { error: string }) => {
      const next = this.waiting.shift();
      if ("error" in m) next?.reject(new Error(m.error));
      else next?.resolve(m);
    });
    worker.on("error", (thrown: unknown) => {
      // What the thread threw arrives cloned: a SqliteError as a plain object.
      const message = (thrown as { message?: unknown } | null)?.message;
      const error = new Error(`the checkpoint thread failed: ${typeof message === "string" ? message : String(thrown)}`);
      this.fail(error);
      for (const w of this.waiting.splice(0)) w.reject(error);
    });
    worker.on("exit", (code) => {
      this.exited = true;
      // Nothing posted from here on would be answered.
      this.fail(new Error(`the checkpoint thread exited (${code})`));
      for (const w of this.waiting.splice(0)) w.reject(new Error(`the checkpoint thread exited (${code})`));
    });
    return this.worker = worker;
  }
}
