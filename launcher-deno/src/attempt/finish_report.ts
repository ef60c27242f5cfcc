import { FailureReason, JobState } from "../../../gen/tether/v1/job_pb.ts";
import { describeError, isNotFound, isPermanent, isStaleToken } from "../coordinator/rpc_errors.ts";
import { backoffMs, delay } from "../delay.ts";
import type { Logger } from "../log.ts";
import type { AttemptRpc, FinishReport } from "./attempt_rpc.ts";

/**
 * Sends FinishJob, retrying transient failures with backoff until it is
 * stored or `signal` aborts. A refusal (stale token, unknown job, invalid
 * report) ends the retries: the coordinator keeps its own account.
 */
export async function sendFinishReport(
  rpc: AttemptRpc,
  fullReport: FinishReport,
  options: { jobId: string; signal: AbortSignal; log: Logger },
): Promise<void> {
  const { jobId, signal, log } = options;
  let report = fullReport;
  for (let failures = 1; !signal.aborted; failures++) {
    try {
      const job = await rpc.finish(report, signal);
      log.info("job finished", {
        jobId,
        reported: JobState[report.state],
        state: job ? JobState[job.state] : undefined,
        exitCode: report.exitCode,
        failureReason: FailureReason[report.failureReason],
      });
      return;
    } catch (err) {
      if (signal.aborted) break;
      // A job that is no longer this launcher's (PERMISSION_DENIED) is stale, not a report too large.
      if (!isStaleToken(err) && isPermanent(err) && (report.result !== undefined || report.error.length > 4_096)) {
        // Keep the job's end on record even when its result or error text is refused.
        log.warn("FinishJob refused the full report; sending it without the result", {
          jobId,
          error: describeError(err),
        });
        report = {
          ...report,
          result: undefined,
          error: `${report.error.slice(0, 4_096)}\n(the full report was refused: ${describeError(err)})`.trim(),
        };
        continue;
      }
      if (isStaleToken(err) || isNotFound(err) || isPermanent(err)) {
        log.warn("FinishJob refused; the coordinator keeps its own account of the job", {
          jobId,
          error: describeError(err),
        });
        return;
      }
      log.warn("cannot report the job's end; retrying", { jobId, failures, error: describeError(err) });
      // An abort ends the wait early; the loop then sees the signal.
      await delay(backoffMs(failures, { baseMs: 200, maxMs: 10_000 }), signal).catch(() => undefined);
    }
  }
  log.error("launcher exited before the job's end was reported", { jobId, state: JobState[report.state] });
}
