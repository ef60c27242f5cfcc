import { randomUUID } from "node:crypto";
import type { JsonObject } from "@bufbuild/protobuf";
import { FailureReason, JobState } from "../../gen/tether/v1/job_pb.ts";
import type { Offer } from "../../gen/tether/v1/launcher_pb.ts";
import type { PollJobsResponse } from "../../gen/tether/v1/launcher_service_pb.ts";
import type { TestCoordinator } from "./test_coordinator.ts";

export interface DriverOptions {
  name?: string;
  hostname?: string;
  labels?: Record<string, string>;
  executors?: string[];
  maxConcurrency?: number;
}

/**
 * Speaks the launcher's side of the protocol with real RPCs, step by step,
 * so tests can stop between any two steps. (The real launcher is the Deno
 * program; its own tests run it as a process.)
 */
export class LauncherDriver {
  readonly instanceId = randomUUID();
  id = "";

  constructor(readonly t: Pick<TestCoordinator, "launchers">, readonly options: DriverOptions = {}) {}

  static async register(t: Pick<TestCoordinator, "launchers">, options: DriverOptions = {}): Promise<LauncherDriver> {
    const driver = new LauncherDriver(t, options);
    await driver.register();
    return driver;
  }

  async register(): Promise<void> {
    const { launcher } = await this.t.launchers.registerLauncher({
      name: this.options.name ?? `l-${randomUUID().slice(0, 8)}`,
      hostname: this.options.hostname ?? "test-host",
      labels: this.options.labels ?? {},
      executors: this.options.executors ?? ["echo"],
      maxConcurrency: this.options.maxConcurrency ?? 4,
      version: "test",
      instanceId: this.instanceId,
    });
    this.id = launcher!.id;
  }

  poll(
    options: { freeSlots?: number; pollId?: string; signal?: AbortSignal; timeoutMs?: number; cancelling?: string[] } =
      {},
  ): Promise<PollJobsResponse> {
    return this.t.launchers.pollJobs({
      launcherId: this.id,
      pollId: options.pollId ?? randomUUID(),
      freeSlots: options.freeSlots ?? 1,
      cancellingJobIds: options.cancelling ?? [],
    }, { signal: options.signal, timeoutMs: options.timeoutMs });
  }

  accept(offer: Offer) {
    return this.t.launchers.acceptJob({ launcherId: this.id, jobId: offer.job!.id, fencingToken: offer.fencingToken });
  }

  heartbeat(running: Offer[] = []) {
    return this.t.launchers.heartbeat({
      launcherId: this.id,
      runningJobs: running.map((o) => ({ jobId: o.job!.id, fencingToken: o.fencingToken })),
    });
  }

  append(offer: Offer, firstOffset: number, events: JsonObject[]) {
    return this.t.launchers.appendJobEvents({
      launcherId: this.id,
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
    outcome: { state: JobState; failureReason?: FailureReason; exitCode?: number; error?: string; result?: JsonObject },
  ) {
    return this.t.launchers.finishJob({
      launcherId: this.id,
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
