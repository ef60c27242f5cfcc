import type { AttemptReport } from "../../domain/reports.ts";
import type { Engine } from "../../dispatch/engine.ts";
import { requireText } from "../validate.ts";

/** The epoch a fencing token for `jobId` stands for; -1 (no attempt's) when it was not issued for it. */
export function epochOf(engine: Engine, jobId: string, token: string, field: string): number {
  return engine.fencing.epochOf(jobId, requireText(token, field, 64));
}

/** A launcher's report on one attempt: its job, and the epoch of the fencing token it came with. */
export function attemptReport(
  engine: Engine,
  launcherId: string,
  req: { jobId: string; fencingToken: string },
): AttemptReport {
  const jobId = requireText(req.jobId, "jobId", 128);
  return { launcherId, jobId, epoch: epochOf(engine, jobId, req.fencingToken, "fencingToken") };
}
