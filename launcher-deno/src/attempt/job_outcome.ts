import { FailureReason, JobState } from "../../../gen/tether/v1/job_pb.ts";
import type { ExitStatus } from "../executors/executor_process.ts";
import type { JobEventData } from "../executors/ndjson.ts";

/** Why the launcher stopped a process before it ended on its own. */
export type StopCause = "cancel" | "timeout" | "shutdown";

/** What is known when an attempt is over. */
export interface AttemptEnd {
  /** How the process ended; absent when it never started. */
  readonly exit?: ExitStatus;
  /** Why the executor could not start (or the job was refused). */
  readonly startError?: string;
  /** Set when the launcher signalled the process before it exited. */
  readonly stopCause?: StopCause;
  /** The executor's final result event. */
  readonly result?: JobEventData;
  readonly stderrTail: string;
  /** The timeout that applied, for the TIMEOUT message. */
  readonly timeoutMs?: number;
}

/** The state-bearing fields of a FinishJob report. */
export interface Outcome {
  readonly state: JobState;
  readonly exitCode?: number;
  readonly failureReason: FailureReason;
  readonly error: string;
}

/**
 * How an attempt ended, in the terms of FinishJob. A stop that came too late
 * (the executor had finished its work: exit 0 after a successful result)
 * lost the race to the completion, which is reported as a success.
 */
export function attemptOutcome(end: AttemptEnd): Outcome {
  const exitCode = end.exit?.code;
  const withTail = (text: string) => end.stderrTail ? `${text}\n${end.stderrTail}` : text;
  if (end.startError !== undefined) {
    return { state: JobState.FAILED, failureReason: FailureReason.EXECUTOR_ERROR, error: end.startError };
  }
  const stopCause = exitCode === 0 && end.result && end.result.is_error !== true ? undefined : end.stopCause;
  if (stopCause === "cancel") {
    return { state: JobState.CANCELLED, exitCode, failureReason: FailureReason.CANCELLED, error: "" };
  }
  if (stopCause === "timeout") {
    const limit = end.timeoutMs === undefined ? "" : ` of ${end.timeoutMs}ms`;
    return {
      state: JobState.FAILED,
      exitCode,
      failureReason: FailureReason.TIMEOUT,
      error: withTail(`The attempt ran past its timeout${limit} and was stopped (${exitText(end.exit)})`),
    };
  }
  if (stopCause === "shutdown") {
    return {
      state: JobState.FAILED,
      exitCode,
      failureReason: FailureReason.LAUNCHER_LOST,
      error: `The launcher was shut down while the attempt ran and stopped it (${exitText(end.exit)})`,
    };
  }
  const apiStatus = transientApiStatus(end.result);
  if (apiStatus !== undefined) {
    return {
      state: JobState.FAILED,
      exitCode,
      failureReason: FailureReason.AGENT_API_ERROR,
      error: withTail(`The agent's model API answered ${apiStatus}, which passes: ${resultReason(end.result!)}`),
    };
  }
  if (exitCode !== 0) {
    const detail = end.stderrTail || (end.result ? resultReason(end.result) : "");
    return {
      state: JobState.FAILED,
      exitCode,
      failureReason: FailureReason.EXIT_NONZERO,
      error: detail ? `The executor ${exitText(end.exit)}\n${detail}` : `The executor ${exitText(end.exit)}`,
    };
  }
  if (!end.result) {
    return {
      state: JobState.FAILED,
      exitCode,
      failureReason: FailureReason.EXECUTOR_ERROR,
      error: withTail('The executor exited 0 without writing its final {"type":"result"} event'),
    };
  }
  if (end.result.is_error === true) {
    const text = resultReason(end.result) || "error";
    return {
      state: JobState.FAILED,
      exitCode,
      failureReason: FailureReason.EXECUTOR_ERROR,
      error: withTail(`The executor reported an error result: ${text}`),
    };
  }
  return { state: JobState.SUCCEEDED, exitCode, failureReason: FailureReason.UNSPECIFIED, error: "" };
}

/** HTTP statuses of a model API that say "try again later": a timeout, rate limiting, server errors, overload. */
const transientStatuses = new Set([408, 429, 500, 502, 503, 504, 529]);

/** The status of a model API's passing failure an error result reports (Claude Code's `api_error_status`), if any. */
function transientApiStatus(result: JobEventData | undefined): number | undefined {
  if (result?.is_error !== true || typeof result.api_error_status !== "number") return undefined;
  return transientStatuses.has(result.api_error_status) ? result.api_error_status : undefined;
}

/**
 * What a result event says of how it ended: its text, else what Claude
 * Code's CLI puts in an error result without one (`subtype` such as
 * "error_max_turns", `terminal_reason`, `errors`, `api_error_status`).
 */
function resultReason(result: JobEventData): string {
  if (typeof result.result === "string" && result.result !== "") return result.result;
  const parts: string[] = [];
  if (typeof result.subtype === "string") parts.push(result.subtype);
  if (typeof result.terminal_reason === "string") parts.push(`terminal_reason: ${result.terminal_reason}`);
  if (typeof result.api_error_status === "number") parts.push(`API status ${result.api_error_status}`);
  if (Array.isArray(result.errors) && result.errors.length > 0) {
    parts.push(`errors: ${result.errors.map((e) => typeof e === "string" ? e : JSON.stringify(e)).join("; ")}`);
  }
  return parts.join(", ");
}

function exitText(exit: ExitStatus | undefined): string {
  if (!exit) return "it never started";
  return exit.signal ? `was ended by ${exit.signal} (exit code ${exit.code})` : `exited with code ${exit.code}`;
}
