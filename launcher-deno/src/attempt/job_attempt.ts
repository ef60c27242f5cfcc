import type { Job } from "../../../gen/tether/v1/job_pb.ts";
import type { Offer } from "../../../gen/tether/v1/launcher_pb.ts";
import type { ExecutorProfile, LauncherConfig } from "../config/config.ts";
import { durationMs } from "../config/duration.ts";
import { describeError } from "../coordinator/rpc_errors.ts";
import { within } from "../delay.ts";
import type { ExecutorProcess } from "../executors/executor_process.ts";
import { profileEnv, type Spawn, startExecutor } from "../executors/executor_start.ts";
import type { JobPayload } from "../executors/job_payload.ts";
import { lineToEvent, readLines } from "../executors/ndjson.ts";
import { fitEvent, maxLineBytes, resultChars } from "./fit_event.ts";
import { stopProcess } from "../executors/stop_process.ts";
import type { DirectoryProbe } from "../host/project_dir.ts";
import type { Logger } from "../log.ts";
import { acceptOffer } from "./accept_offer.ts";
import type { AttemptRpc } from "./attempt_rpc.ts";
import { EventUploader, StaleTokenError } from "./event_uploader.ts";
import { sendFinishReport } from "./finish_report.ts";
import { checkJob } from "./job_checks.ts";
import { type AttemptEnd, attemptOutcome, type StopCause } from "./job_outcome.ts";
import { OutputBound } from "./output_bound.ts";
import { ResultTracker } from "./result_tracker.ts";
import { StderrTail } from "./stderr_tail.ts";

/** Where an attempt is; each phase only moves forward. */
export type AttemptPhase = "accepting" | "preparing" | "running" | "reporting" | "done";

const nextPhases: Record<AttemptPhase, readonly AttemptPhase[]> = {
  accepting: ["preparing", "done"],
  preparing: ["running", "reporting", "done"],
  running: ["reporting", "done"],
  reporting: ["done"],
  done: [],
};

export interface AttemptDeps {
  readonly config: LauncherConfig;
  readonly rpc: AttemptRpc;
  readonly log: Logger;
  /** The host variables executors may receive, read once at start. */
  readonly hostEnv: Readonly<Record<string, string>>;
  readonly spawn: Spawn;
  readonly probe: DirectoryProbe;
  /** The local time (ms) by which AcceptJob must have succeeded. */
  readonly acceptDeadline: number;
  /** Aborts every wait and retry: the launcher is exiting now. */
  readonly signal: AbortSignal;
  readonly onPhase?: (attempt: JobAttempt, phase: AttemptPhase) => void;
}

/**
 * One attempt of one job on this launcher, from the offer to the FinishJob
 * report: accept, check, run the executor, stream its events, stop it on
 * cancel/timeout/shutdown, report. A stale token kills it unreported.
 */
export class JobAttempt {
  readonly jobId: string;
  readonly fencingToken: string;
  #phase: AttemptPhase = "accepting";
  #stopCause: StopCause | undefined;
  #stale = false;
  #process: ExecutorProcess | undefined;
  #profile: ExecutorProfile | undefined;
  #stopping: Promise<unknown> | undefined;
  readonly #hurry = new AbortController();
  readonly #reports: AbortSignal;
  readonly #deps: AttemptDeps;

  constructor(readonly offer: Offer, deps: AttemptDeps) {
    this.jobId = offer.job?.id ?? "";
    this.fencingToken = offer.fencingToken;
    this.#deps = deps;
    this.#reports = AbortSignal.any([deps.signal, this.#hurry.signal]);
  }

  get phase(): AttemptPhase {
    return this.#phase;
  }

  /**
   * Whether the attempt holds a token that heartbeats must list: from the
   * offer on, since an AcceptJob whose answer is still on its way may have
   * started the attempt, and the coordinator ends attempts a launcher leaves out.
   */
  get holdsToken(): boolean {
    return !this.#stale && this.#phase !== "done";
  }

  /** Whether the coordinator asked to cancel it. */
  get cancelling(): boolean {
    return this.#stopCause === "cancel";
  }

  /** Stops the executor (SIGINT, SIGTERM, SIGKILL) and reports CANCELLED. */
  cancel(): void {
    this.#requestStop("cancel");
  }

  /** Stops the executor for a forced launcher shutdown. */
  shutdown(): void {
    this.#requestStop("shutdown");
  }

  /** Kills the executor at once and reports nothing: a newer attempt owns the job. */
  killStale(reason: string): void {
    if (this.#stale || this.#phase === "done") return;
    this.#stale = true;
    this.#deps.log.warn("killing the executor without reporting", { jobId: this.jobId, reason });
    this.#hurry.abort();
    if (this.#process && this.#phase === "running" && !this.#stopping) this.#stopping = this.#process.signal("SIGKILL");
  }

  /** Runs the attempt to its end; never rejects. */
  async run(): Promise<void> {
    try {
      await this.#run();
    } catch (err) {
      this.#deps.log.error("job attempt failed inside the launcher", { jobId: this.jobId, error: describeError(err) });
    } finally {
      this.#enter("done");
    }
  }

  async #run(): Promise<void> {
    const job = await acceptOffer(this.#deps.rpc, {
      jobId: this.jobId,
      deadline: this.#deps.acceptDeadline,
      signal: this.#deps.signal,
      log: this.#deps.log,
    });
    if (!job) return;
    this.#enter("preparing");
    const tracker = new ResultTracker(this.offer.executorSessionId);
    const uploader = new EventUploader(
      (first, events, signal) => this.#deps.rpc.append(first, events, tracker.executorSessionId, signal),
      job.nextEventOffset,
      {
        signal: this.#reports,
        onStale: (err) => this.killStale(`the coordinator refused its events: ${describeError(err)}`),
        onRetry: (err, failures) =>
          this.#deps.log.warn("cannot append events; retrying", {
            jobId: this.jobId,
            failures,
            error: describeError(err),
          }),
      },
    );
    let end: AttemptEnd;
    try {
      const payload = await this.#prepare(job);
      end = this.#stopCause
        ? { stopCause: this.#stopCause, stderrTail: "" }
        : await this.#execute(job, payload, tracker, uploader);
    } catch (err) {
      // The message goes to clients; a cause (a file system error) may name host paths, so only the log sees it.
      const { message, cause } = err as Error;
      if (cause !== undefined) {
        this.#deps.log.warn("job refused", { jobId: this.jobId, message, cause: describeError(cause) });
      }
      end = { startError: message, stderrTail: "" };
    }
    if (this.#stale) return;
    this.#enter("reporting");
    await this.#report(end, tracker, uploader);
  }

  /** Checks the job against the launcher's profiles, rules and roots; throws with the reason for the record. */
  async #prepare(job: Job): Promise<JobPayload> {
    const { config, probe } = this.#deps;
    const { profile, payload } = await checkJob(job, {
      executorSessionId: this.offer.executorSessionId,
      config,
      probe,
    });
    this.#profile = profile;
    return payload;
  }

  async #execute(job: Job, payload: JobPayload, tracker: ResultTracker, uploader: EventUploader): Promise<AttemptEnd> {
    const { config, log } = this.#deps;
    const profile = this.#profile!;
    let process: ExecutorProcess;
    try {
      process = startExecutor(profile, payload, {
        spawn: this.#deps.spawn,
        env: profileEnv(profile, this.#deps.hostEnv),
      });
    } catch (err) {
      // Clients read the report; the program's path and the OS's message (host paths) go to the log only.
      log.error("cannot start the executor", { jobId: this.jobId, argv: profile.argv, error: describeError(err) });
      const { name, message } = err as Error;
      const reason = name === "Error" ? message : `${name} (the launcher's log has the details)`;
      return { startError: `Cannot start executor "${profile.name}": ${reason}`, stderrTail: "" };
    }
    this.#process = process;
    this.#enter("running");
    log.info("job started", {
      jobId: this.jobId,
      executor: profile.name,
      process: process.description,
      projectDir: payload.projectDir,
    });
    if (this.#stale) this.#stopping = process.signal("SIGKILL");
    else if (this.#stopCause) this.#startStopping();

    const timeoutMs =
      [durationMs(job.timeout), profile.timeoutMs].filter((ms) => ms !== undefined).sort((a, b) => a - b)[0];
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => this.#requestStop("timeout"), timeoutMs);
    const bound = new OutputBound(config.output.maxBytes);
    const tail = new StderrTail(config.output.stderrTailBytes);
    const stopReading = new AbortController();
    const readFailed = (stream: string) => (err: unknown) => {
      log.error(`cannot read the executor's ${stream}`, { jobId: this.jobId, error: describeError(err) });
      uploader.push({
        type: "log",
        stream: "launcher",
        text: `cannot read the executor's ${stream}: ${describeError(err)}`,
      });
    };
    const stdoutDone = (async () => {
      for await (const line of readLines(process.stdout, maxLineBytes(config.output), stopReading.signal)) {
        const event = lineToEvent(line);
        if (!event) continue;
        // The tracker sees the whole line (a result may be larger than one event); the log gets it cut to fit.
        if (tracker.observe(event)) {
          log.info("executor session id", { jobId: this.jobId, executorSessionId: tracker.executorSessionId });
        }
        const fitted = fitEvent(event, config.output.maxEventBytes);
        for (const admitted of bound.admit(fitted, line.bytes)) uploader.push(admitted);
      }
    })().catch(readFailed("stdout"));
    const stderrDone = tail.drain(process.stderr, stopReading.signal).catch(readFailed("stderr"));

    const exit = await process.status;
    const stopCause = this.#stopCause;
    clearTimeout(timer);
    await process.reap();
    const drainMs = Math.max(1_000, profile.terminateGraceMs);
    if (await within(Promise.all([stdoutDone, stderrDone]), drainMs) === undefined) {
      stopReading.abort();
      uploader.push({
        type: "log",
        stream: "launcher",
        text:
          `stdout or stderr stayed open ${drainMs}ms after the executor exited (a process outside its group holds them); stopped reading`,
      });
    }
    await Promise.allSettled([stdoutDone, stderrDone, this.#stopping]);
    log.info("job process exited", { jobId: this.jobId, code: exit.code, signal: exit.signal, stopCause });
    return { exit, stopCause, result: tracker.result, stderrTail: tail.text(), timeoutMs };
  }

  async #report(end: AttemptEnd, tracker: ResultTracker, uploader: EventUploader): Promise<void> {
    const { rpc, log, signal } = this.#deps;
    let uploadError = "";
    try {
      await uploader.flush();
    } catch (err) {
      if (err instanceof StaleTokenError || this.#stale) return;
      uploadError = (err as Error).message;
      log.error("events were lost", { jobId: this.jobId, error: uploadError });
    }
    const outcome = attemptOutcome(end);
    await sendFinishReport(rpc, {
      ...outcome,
      error: [outcome.error, uploadError].filter(Boolean).join("\n"),
      result: tracker.result && fitEvent(tracker.result, resultChars),
      executorSessionId: tracker.executorSessionId,
      nextEventOffset: uploader.nextOffset,
    }, { jobId: this.jobId, signal, log });
  }

  #requestStop(cause: StopCause): void {
    if (this.#stopCause || this.#stale || this.#phase === "reporting" || this.#phase === "done") return;
    this.#stopCause = cause;
    this.#deps.log.info("stopping job", { jobId: this.jobId, cause });
    if (this.#phase === "running") this.#startStopping();
  }

  #startStopping(): void {
    if (this.#stopping || !this.#process || !this.#profile) return;
    const { log } = this.#deps;
    this.#stopping = stopProcess(this.#process, this.#profile, {
      hurry: this.#hurry.signal,
      onSignal: (signal) => log.info("signalling job's process group", { jobId: this.jobId, signal }),
    }).catch((err) => log.error("cannot stop the executor", { jobId: this.jobId, error: describeError(err) }));
  }

  #enter(phase: AttemptPhase): void {
    if (phase === this.#phase) return;
    if (!nextPhases[this.#phase].includes(phase)) {
      throw new Error(`Job attempt "${this.jobId}" cannot go from ${this.#phase} to ${phase}`);
    }
    this.#phase = phase;
    this.#deps.onPhase?.(this, phase);
  }
}
