/** The bearer tokens a tether benchmark run uses: producers send the client token, launchers register with the other. */
export interface TetherTokens {
  client: string;
  registration: string;
}

/** Where a load generator finds the system under test. */
export type Target =
  | { kind: "tether"; url: string; db: string; tokens: TetherTokens }
  | { kind: "baseline"; url: string }
  | { kind: "graphile-worker"; url: string }
  | { kind: "pg-boss"; url: string }
  | { kind: "bullmq"; host: string; port: number };

/** What a benchmark job carries: when it was sent (monotonic ms) and which run it belongs to. */
export interface Payload {
  sentAt?: number;
  run?: string;
}

export interface ConsumeOptions {
  /** Independent consumers (launchers, workers), each waiting for work on its own. */
  pollers: number;
  /** Jobs one consumer takes per fetch (1: one job per poll). */
  batch: number;
}

export interface ConsumeHooks {
  /** A consumer got a job; `atMs` is the monotonic time its fetch returned. */
  received(payload: Payload, atMs: number): void;
  /** A job was reported done to the system (its completion call returned). */
  finished(): void;
}

/**
 * One system under test as a load generator drives it: the producer side
 * (enqueue, seed) and the consumer side (consume). Each system is used the
 * way its own documentation shows.
 */
export interface SubjectClient {
  enqueue(payload: Payload): Promise<void>;
  /** Pre-creates `count` jobs as fast as the system allows (not measured). */
  seed(count: number): Promise<void>;
  /** Starts the consumers; resolves once every one of them is waiting for work. */
  consume(options: ConsumeOptions, hooks: ConsumeHooks): Promise<void>;
  /** Jobs the store still holds unfinished (0 when a finish call's return already means committed). */
  pending(): Promise<number>;
  close(): Promise<void>;
}

export async function subjectClient(target: Target): Promise<SubjectClient> {
  switch (target.kind) {
    case "tether":
      return (await import("./tether_client.ts")).tetherClient(target);
    case "baseline":
      return (await import("./baseline_client.ts")).baselineClient(target);
    case "graphile-worker":
      return (await import("./graphile_worker_client.ts")).graphileWorkerClient(target);
    case "pg-boss":
      return (await import("./pg_boss_client.ts")).pgBossClient(target);
    case "bullmq":
      return (await import("./bullmq_client.ts")).bullmqClient(target);
  }
}
