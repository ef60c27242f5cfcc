import type { JsonObject } from "@bufbuild/protobuf";
import type { Job } from "../../../gen/tether/v1/job_pb.ts";
import type { Offer } from "../../../gen/tether/v1/launcher_pb.ts";
import type { LauncherClient } from "../coordinator/coordinator_client.ts";
import type { JobEventData } from "../executors/ndjson.ts";
import type { Outcome } from "./job_outcome.ts";

/** Everything in a FinishJob report besides the ids and the token. */
export interface FinishReport extends Outcome {
  readonly result?: JobEventData;
  readonly executorSessionId?: string;
  readonly nextEventOffset: bigint;
}

/** The calls one attempt makes, bound to its job and fencing token (the client carries the launcher's credential). */
export interface AttemptRpc {
  accept(options: { signal: AbortSignal; timeoutMs: number }): Promise<Job>;
  append(
    firstOffset: bigint,
    events: JobEventData[],
    executorSessionId: string | undefined,
    signal: AbortSignal,
  ): Promise<bigint>;
  finish(report: FinishReport, signal: AbortSignal): Promise<Job | undefined>;
}

const callTimeoutMs = 15_000;

/** The attempt's calls on the coordinator's LauncherService. */
export function coordinatorAttemptRpc(client: LauncherClient, offer: Offer): AttemptRpc {
  const ids = { jobId: offer.job!.id, fencingToken: offer.fencingToken };
  return {
    async accept({ signal, timeoutMs }) {
      const response = await client.acceptJob(ids, { signal, timeoutMs });
      if (!response.job) throw new Error(`AcceptJob for job "${ids.jobId}" answered without the job`);
      return response.job;
    },
    async append(firstOffset, events, executorSessionId, signal) {
      const response = await client.appendJobEvents({
        ...ids,
        firstOffset,
        events: events as JsonObject[],
        executorSessionId: executorSessionId ?? "",
      }, { signal, timeoutMs: callTimeoutMs });
      return response.nextOffset;
    },
    async finish(report, signal) {
      const response = await client.finishJob({
        ...ids,
        state: report.state,
        exitCode: report.exitCode,
        failureReason: report.failureReason,
        error: report.error,
        result: report.result as JsonObject | undefined,
        executorSessionId: report.executorSessionId ?? "",
        nextEventOffset: report.nextEventOffset,
      }, { signal, timeoutMs: callTimeoutMs });
      return response.job;
    },
  };
}
