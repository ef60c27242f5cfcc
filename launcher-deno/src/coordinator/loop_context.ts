import type { Offer } from "../../../gen/tether/v1/launcher_pb.ts";
import type { JobTable } from "../attempt/job_table.ts";
import type { Logger } from "../log.ts";
import type { LauncherClient } from "./coordinator_client.ts";
import type { Registration } from "./registration.ts";

/** What the poll and heartbeat loops need from the launcher that runs them. */
export interface LoopContext {
  readonly client: LauncherClient;
  readonly log: Logger;
  readonly jobs: JobTable;
  /** The current registration; waits while one is under way; undefined once shutting down. */
  registration(): Promise<Registration | undefined>;
  /** The coordinator no longer knows `registration`: register again (unless shutting down). */
  forgotten(registration: Registration, why: string): void;
  /** Whether the launcher takes no new jobs. */
  draining(): boolean;
  /** Stop taking new jobs and exit once the held ones end. */
  drain(reason: string): void;
  /** Starts an attempt for an offer received under `registration`. */
  take(offer: Offer, registration: Registration, receivedAt: number): void;
  /** Calls `listener` when draining starts or a slot frees; returns the unsubscribe function. */
  onWake(listener: () => void): () => void;
}

/** Applies the commands a PollJobs or Heartbeat answer carries. */
export function applyCommands(
  context: LoopContext,
  registration: Registration,
  commands: { cancelJobIds: string[]; staleJobIds?: string[]; drain: boolean; deregistered: boolean },
): void {
  for (const jobId of commands.cancelJobIds) {
    const attempt = context.jobs.get(jobId);
    if (attempt) attempt.cancel();
    else context.log.warn("asked to cancel a job this launcher does not hold", { jobId });
  }
  for (const jobId of commands.staleJobIds ?? []) {
    context.jobs.get(jobId)?.killStale("the heartbeat answer named its token stale");
  }
  if (commands.drain) context.drain("the coordinator asked this launcher to drain");
  if (commands.deregistered) context.forgotten(registration, "the coordinator says this launcher is deregistered");
}
