import type { Offer } from "../../gen/tether/v1/launcher_pb.ts";
import { coordinatorAttemptRpc } from "./attempt/attempt_rpc.ts";
import { JobAttempt } from "./attempt/job_attempt.ts";
import { JobTable } from "./attempt/job_table.ts";
import type { LauncherConfig } from "./config/config.ts";
import type { LauncherClient } from "./coordinator/coordinator_client.ts";
import { heartbeatLoop } from "./coordinator/heartbeat_loop.ts";
import type { CredentialRefusedError } from "./coordinator/launcher_credentials.ts";
import type { LoopContext } from "./coordinator/loop_context.ts";
import { pollLoop } from "./coordinator/poll_loop.ts";
import { register, type Registration, RegistrationRefusedError } from "./coordinator/registration.ts";
import { describeError } from "./coordinator/rpc_errors.ts";
import type { Spawn } from "./executors/executor_start.ts";
import type { DirectoryProbe } from "./host/project_dir.ts";
import type { Logger } from "./log.ts";
import { launcherVersion } from "./version.ts";

/**
 * Where the launcher is in its run (not the coordinator's LauncherState, which says
 * whether it takes work). `draining` takes no new jobs and stops when the held
 * ones end; `forcing` also stops the running executors; `abandoning` kills
 * them at once and reports nothing.
 */
export type LauncherPhase =
  | { readonly kind: "starting" }
  | { readonly kind: "online" }
  | { readonly kind: "draining"; readonly reason: string }
  | { readonly kind: "forcing" }
  | { readonly kind: "abandoning" }
  | { readonly kind: "stopped" };

const nextPhases: Record<LauncherPhase["kind"], readonly LauncherPhase["kind"][]> = {
  starting: ["online", "draining", "forcing", "abandoning", "stopped"],
  online: ["draining", "forcing", "abandoning", "stopped"],
  draining: ["forcing", "abandoning", "stopped"],
  forcing: ["abandoning", "stopped"],
  abandoning: ["stopped"],
  stopped: [],
};

export interface LauncherDeps {
  readonly client: LauncherClient;
  readonly log: Logger;
  readonly hostname: string;
  /** The host variables executors may receive, read once at start. */
  readonly hostEnv: Readonly<Record<string, string>>;
  readonly spawn: Spawn;
  readonly probe: DirectoryProbe;
  /** Where the credential each registration returns goes, for the client to send (see LauncherCredentials). */
  readonly credentials: {
    set(credential: string): void;
    registering<T>(done: Promise<T>): Promise<T>;
  };
}

/**
 * The launcher: registers, polls and heartbeats, runs the offered jobs, and
 * shuts down in phases (drain, force, abandon). `run` resolves once it has
 * stopped and deregistered.
 */
export class Launcher {
  #phase: LauncherPhase = { kind: "starting" };
  #registration: Promise<Registration | undefined> = Promise.resolve(undefined);
  #current: Registration | undefined;
  readonly #jobs: JobTable;
  readonly #running = new Set<Promise<void>>();
  readonly #wakeListeners = new Set<() => void>();
  readonly #stopRegistering = new AbortController();
  readonly #stopLoops = new AbortController();
  readonly #abandon = new AbortController();
  readonly #instanceId = crypto.randomUUID();
  /** Why the coordinator refused this instance (its credential, or a registration again); run() rejects with it. */
  #refused: CredentialRefusedError | RegistrationRefusedError | undefined;
  readonly #config: LauncherConfig;
  readonly #deps: LauncherDeps;

  constructor(config: LauncherConfig, deps: LauncherDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#jobs = new JobTable(config.maxConcurrency);
    this.#jobs.onChange(() => this.#wake());
  }

  get phase(): LauncherPhase {
    return this.#phase;
  }

  /**
   * Runs until drained, forced or abandoned; rejects if the coordinator
   * refuses the registration or, later, this instance's credential.
   */
  async run(): Promise<void> {
    this.#registration = this.#register();
    if (!await this.#registration) return this.#enter({ kind: "stopped" });
    if (this.#phase.kind === "starting") this.#enter({ kind: "online" });
    const context = this.#loopContext();
    const loops = Promise.all([
      pollLoop(context, this.#stopLoops.signal),
      heartbeatLoop(context, this.#stopLoops.signal),
    ]);
    await this.#whenStopping();
    while (this.#running.size > 0) await Promise.all([...this.#running]);
    this.#stopLoops.abort();
    await loops;
    if (!this.#refused) await this.#deregister();
    this.#enter({ kind: "stopped" });
    if (this.#refused) throw this.#refused;
  }

  /**
   * The coordinator refused this instance's current credential: another
   * instance registered under this launcher's identity, so this one may no
   * longer run anything. Its jobs are killed at once (the coordinator took
   * them back already) and run() rejects, so the process exits non-zero.
   */
  credentialRefused(error: CredentialRefusedError): void {
    if (this.#refused || this.#phase.kind === "stopped") return;
    this.#refused = error;
    this.#deps.log.error(
      "this launcher instance was replaced or its credential withdrawn; killing its jobs and exiting",
      {
        error: error.message,
        instanceId: this.#instanceId,
        heldJobs: this.#jobs.size,
      },
    );
    this.abandon();
  }

  /** Takes no new jobs and stops once the held ones have ended. */
  drain(reason: string): void {
    if (this.#phase.kind !== "starting" && this.#phase.kind !== "online") return;
    this.#deps.log.info("draining", { reason, heldJobs: this.#jobs.size });
    this.#enter({ kind: "draining", reason });
    this.#stopRegistering.abort(new Error("the launcher is shutting down"));
  }

  /** Also stops every running executor (SIGINT, SIGTERM, SIGKILL) and reports it. */
  force(): void {
    if (this.#phase.kind === "forcing" || this.#phase.kind === "abandoning" || this.#phase.kind === "stopped") return;
    this.#deps.log.info("forcing shutdown: stopping running jobs", { heldJobs: this.#jobs.size });
    this.#enter({ kind: "forcing" });
    this.#stopRegistering.abort(new Error("the launcher is shutting down"));
    for (const attempt of this.#jobs.all()) attempt.shutdown();
  }

  /** Kills every executor at once and gives up on reports still in flight. */
  abandon(): void {
    if (this.#phase.kind === "abandoning" || this.#phase.kind === "stopped") return;
    this.#deps.log.warn("abandoning: killing running jobs without reporting", { heldJobs: this.#jobs.size });
    this.#enter({ kind: "abandoning" });
    this.#stopRegistering.abort(new Error("the launcher is shutting down"));
    for (const attempt of this.#jobs.all()) attempt.killStale("the launcher was told to exit at once");
    this.#abandon.abort(new Error("the launcher is exiting at once"));
  }

  #shuttingDown(): boolean {
    return this.#phase.kind !== "starting" && this.#phase.kind !== "online";
  }

  async #register(): Promise<Registration | undefined> {
    const { client, log, hostname } = this.#deps;
    const config = this.#config;
    try {
      this.#current = await this.#deps.credentials.registering(register(client, {
        name: config.name,
        hostname,
        labels: { ...config.labels },
        executors: config.executors.map((profile) => profile.name),
        maxConcurrency: config.maxConcurrency,
        version: launcherVersion,
        instanceId: this.#instanceId,
      }, { signal: this.#stopRegistering.signal, log }));
      this.#deps.credentials.set(this.#current.credential);
      return this.#current;
    } catch (err) {
      if (this.#stopRegistering.signal.aborted) return undefined;
      throw err;
    }
  }

  #forgotten(registration: Registration, why: string): void {
    if (registration !== this.#current) return;
    this.#current = undefined;
    if (this.#shuttingDown()) {
      this.#deps.log.warn("the coordinator forgot this launcher while it shut down", { why });
      this.#registration = Promise.resolve(undefined);
      return;
    }
    this.#deps.log.warn("the coordinator forgot this launcher; registering again", { why });
    this.#registration = this.#register().catch((err) => {
      this.#deps.log.error("registration refused; shutting down", { error: describeError(err) });
      if (err instanceof RegistrationRefusedError) this.#refused ??= err;
      this.drain("the coordinator refused the registration");
      return undefined;
    });
  }

  #take(offer: Offer, registration: Registration, receivedAt: number): void {
    const { client, log } = this.#deps;
    const attempt = new JobAttempt(offer, {
      config: this.#config,
      rpc: coordinatorAttemptRpc(client, offer),
      log,
      hostEnv: this.#deps.hostEnv,
      spawn: this.#deps.spawn,
      probe: this.#deps.probe,
      acceptDeadline: receivedAt + registration.acceptTimeoutMs,
      signal: this.#abandon.signal,
      onPhase: (_, phase) => {
        if (phase === "running") {
          log.info("jobs running", { running: this.#jobs.countIn("running"), slots: this.#jobs.maxConcurrency });
        }
      },
    });
    this.#jobs.add(attempt);
    if (this.#phase.kind === "forcing") attempt.shutdown();
    const done = attempt.run().finally(() => {
      this.#running.delete(done);
      this.#jobs.remove(attempt.jobId);
    });
    this.#running.add(done);
  }

  #loopContext(): LoopContext {
    return {
      client: this.#deps.client,
      log: this.#deps.log,
      jobs: this.#jobs,
      registration: () => this.#registration,
      forgotten: (registration, why) => this.#forgotten(registration, why),
      draining: () => this.#shuttingDown(),
      drain: (reason) => this.drain(reason),
      take: (offer, registration, receivedAt) => this.#take(offer, registration, receivedAt),
      onWake: (listener) => {
        this.#wakeListeners.add(listener);
        return () => this.#wakeListeners.delete(listener);
      },
    };
  }

  /** Resolves once shutdown has begun. */
  #whenStopping(): Promise<void> {
    if (this.#shuttingDown()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!this.#shuttingDown()) return;
        this.#wakeListeners.delete(check);
        resolve();
      };
      this.#wakeListeners.add(check);
    });
  }

  async #deregister(): Promise<void> {
    const registration = this.#current;
    if (!registration) return;
    try {
      await this.#deps.client.deregisterLauncher({}, { timeoutMs: 5_000 });
      this.#deps.log.info("deregistered", { launcherId: registration.launcherId });
    } catch (err) {
      this.#deps.log.warn("cannot deregister; the coordinator will see the lease lapse", { error: describeError(err) });
    }
  }

  #wake(): void {
    for (const listener of [...this.#wakeListeners]) listener();
  }

  #enter(phase: LauncherPhase): void {
    if (!nextPhases[this.#phase.kind].includes(phase.kind)) {
      throw new Error(`The launcher cannot go from ${this.#phase.kind} to ${phase.kind}`);
    }
    this.#phase = phase;
    this.#wake();
  }
}
