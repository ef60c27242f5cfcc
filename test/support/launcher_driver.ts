import { randomUUID } from "node:crypto";
import type { JsonObject } from "@bufbuild/protobuf";
import { FailureReason, JobState } from "../../gen/tether/v1/job_pb.ts";
import type { Offer } from "../../gen/tether/v1/launcher_pb.ts";
import type { Client } from "@connectrpc/connect";
import type { LauncherService, PollJobsResponse } from "../../gen/tether/v1/launcher_service_pb.ts";
import type { TestCoordinator } from "./test_coordinator.ts";

export interface DriverOptions {
  name?: string;
  hostname?: string;
  labels?: Record<string, string>;
  executors?: string[];
  maxConcurrency?: number;
  /** The token to register with; the coordinator's registration token by default. */
  token?: string;
}

/**
 * Speaks the launcher's side of the protocol with real RPCs, step by step,
 * so tests can stop between any two steps. (The real launcher is the Deno
 * program; its own tests run it as a process.)
 */
export class LauncherDriver {
  readonly instanceId = randomUUID();
  id = "";
  /** The credential the last registration returned. */
  credential = "";
  /** A client sending that credential. */
  launchers!: Client<typeof LauncherService>;

  constructor(readonly t: Pick<TestCoordinator, "launcherClient">, readonly options: DriverOptions = {}) {}

  static async register(t: Pick<TestCoordinator, "launcherClient">, options: DriverOptions = {}): Promise<LauncherDriver> {
    const driver = new LauncherDriver(t, options);
    await driver.register();
    return driver;
  }

  async register(): Promise<void> {
    const { launcher, credential } = await this.t.launcherClient(this.options.token).registerLauncher({
      name: this.options.name ?? `l-${randomUUID().slice(0, 8)}`,
      hostname: this.options.hostname ?? "test-host",
      labels: this.options.labels ?? {},
      executors: this.options.executors ?? ["echo"],
      maxConcurrency: this.options.maxConcurrency ?? 4,
      version: "test",
      instanceId: this.instanceId,
    });
    this.id = launcher!.id;
    this.credential = credential;
    this.launchers = this.t.launcherClient(credential);
  }

  /** The same launcher, with its credential, talking to another coordinator (a replica, or one restarted). */
  via(t: Pick<TestCoordinator, "launcherClient">): LauncherDriver {
    const driver = new LauncherDriver(t, this.options);
    driver.id = this.id;
    driver.credential = this.credential;
    driver.launchers = t.launcherClient(this.credential);
    return driver;
  }

  poll(
    options: { freeSlots?: number; pollId?: string; signal?: AbortSignal; timeoutMs?: number; cancelling?: string[] } =
      {},
  ): Promise<PollJobsResponse> {
    return this.launchers.pollJobs({
      pollId: options.pollId ?? randomUUID(),
      freeSlots: options.freeSlots ?? 1,
      cancellingJobIds: options.cancelling ?? [],
    }, { signal: options.signal, timeoutMs: options.timeoutMs });
  }

  accept(offer: Offer) {
    return this.launchers.acceptJob({ jobId: offer.job!.id, fencingToken: offer.fencingToken });
  }

  heartbeat(running: Offer[] = []) {
    return this.launchers.heartbeat({
      runningJobs: running.map((o) => ({ jobId: o.job!.id, fencingToken: o.fencingToken })),
    });
  }

  append(offer: Offer, firstOffset: number, events: JsonObject[]) {
    return this.launchers.appendJobEvents({
      jobId: offer.job!.id,
      fencingToken: offer.fencingToken,
      firstOffset: BigInt(firstOffset),
      events,
    });
  }

  succeed(offer: Offer, result: JsonObject = { type: "result", result: "done" }) {
    return this.finish(offer, { state: JobState.SUCCEEDED, exitCode: 0, result });
  }

  fail(offer: Offer, reason = FailureReason.EXIT_NONZERO, exitCode = 1) {
    return this.finish(offer, { state: JobState.FAILED, failureReason: reason, exitCode, error: "boom" });
  }

  finish(
    offer: Offer,
    outcome: {
      state: JobState;
      failureReason?: FailureReason;
      exitCode?: number;
      error?: string;
      result?: JsonObject;
      executorSessionId?: string;
    },
  ) {
    return this.launchers.finishJob({
      jobId: offer.job!.id,
      fencingToken: offer.fencingToken,
      ...outcome,
    });
  }

  /** Polls until an offer arrives (each poll is held by the server, so this does not spin). */
  async nextOffer(freeSlots = 1): Promise<Offer> {
    for (;;) {
      const { offers } = await this.poll({ freeSlots });
      if (offers.length > 0) return offers[0]!;
    }
  }
}
