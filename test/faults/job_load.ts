import { setMaxListeners } from "node:events";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import type { JobService } from "../../gen/tether/v1/job_service_pb.ts";
import { backoffMs, delay } from "../../launcher-deno/src/delay.ts";
import type { JobRequest } from "../../tools/support/jobs.ts";
import { followJob, type JobTimeline } from "./job_timeline.ts";

export interface JobLoadOptions {
  /** A client sending a client token; connect_clients.ts's jobClient outlives a coordinator restarted on its port. */
  readonly jobs: Client<typeof JobService>;
  /** How many jobs to create in all (unless `stop` is called first). */
  readonly total: number;
  /** How many jobs are created and followed at once. */
  readonly concurrency: number;
  /** The CreateJob request of job number `i`; give it an idempotencyKey when creates may be retried. */
  readonly request: (i: number) => JobRequest;
  /** Called once a job was created and again at each change WatchJob shows. */
  readonly onChange?: (timeline: JobTimeline, i: number) => void;
  /** Stops creating and following (a guard against a hung test: unfinished jobs then count as stuck). */
  readonly signal: AbortSignal;
}

/**
 * Keeps `concurrency` jobs in flight until `total` were created, like a
 * client would: each worker creates a job (retrying a create whose answer
 * was lost, which the idempotency key makes safe), follows it with WatchJob
 * until it ends, and creates the next. Progress is event-driven: `whenEnded`
 * resolves when the nth job ends.
 */
export class JobLoad {
  /** Ids of the jobs whose CreateJob was answered: the acknowledged ones. */
  readonly created: string[] = [];
  readonly timelines = new Map<string, JobTimeline>();
  /** CreateJob calls that failed and were sent again. */
  createRetries = 0;
  #ended = 0;
  #next = 0;
  #stopped = false;
  readonly #waiters = new Set<{ n: number; resolve: () => void }>();
  readonly #options: JobLoadOptions;

  constructor(options: JobLoadOptions) {
    this.#options = options;
    // Every create and every watch listens to the one signal.
    setMaxListeners(0, options.signal);
  }

  get ended(): number {
    return this.#ended;
  }

  /** Runs until every job was created and has ended, or the signal aborts. */
  async run(): Promise<void> {
    const workers = Array.from(
      { length: Math.min(this.#options.concurrency, this.#options.total) },
      () => this.#work(),
    );
    await Promise.all(workers);
  }

  /** Creates no more jobs; those in flight are followed to their end. */
  stop(): void {
    this.#stopped = true;
  }

  /** Resolves once `n` jobs have ended (or at once, when they have). */
  whenEnded(n: number): Promise<void> {
    if (this.#ended >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.add({ n, resolve }));
  }

  async #work(): Promise<void> {
    const { jobs, total, request, onChange, signal } = this.#options;
    while (this.#next < total && !this.#stopped && !signal.aborted) {
      const i = this.#next++;
      const id = await this.#create(request(i));
      if (id === undefined) return;
      const timeline: JobTimeline = { id, snapshots: [], events: [] };
      this.timelines.set(id, timeline);
      this.created.push(id);
      onChange?.(timeline, i);
      await followJob(jobs, timeline, { signal, onChange: onChange && ((t) => onChange(t, i)) });
      if (!timeline.final) return;
      this.#ended += 1;
      for (const waiter of [...this.#waiters]) {
        if (this.#ended >= waiter.n) {
          this.#waiters.delete(waiter);
          waiter.resolve();
        }
      }
    }
  }

  async #create(req: JobRequest): Promise<string | undefined> {
    const { jobs, signal } = this.#options;
    for (let failures = 1; !signal.aborted; failures++) {
      try {
        const { job } = await jobs.createJob(req, { signal, timeoutMs: 10_000 });
        return job!.id;
      } catch (err) {
        if (signal.aborted) return undefined;
        const transient = err instanceof ConnectError &&
          [Code.Unavailable, Code.Unknown, Code.Internal, Code.DeadlineExceeded, Code.Aborted].includes(err.code);
        if (!transient || !req.idempotencyKey) throw err;
        this.createRetries += 1;
        await delay(backoffMs(failures, { baseMs: 50, maxMs: 1_000 }), signal).catch(() => undefined);
      }
    }
    return undefined;
  }
}
