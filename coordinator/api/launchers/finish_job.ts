import type { MessageInitShape } from "@bufbuild/protobuf";
import { JobStateSchema } from "../../../gen/tether/v1/job_pb.ts";
import type { FinishJobRequest, FinishJobResponseSchema } from "../../../gen/tether/v1/launcher_service_pb.ts";
import type { LauncherPrincipal } from "../../auth/principal.ts";
import type { AttemptOutcome } from "../../domain/attempt_end.ts";
import { reportedEnding } from "../../domain/reports.ts";
import type { Engine } from "../../dispatch/engine.ts";
import { finishJob as endReportedAttempt } from "../../storage/finish_job.ts";
import { jobToProto } from "../to_proto.ts";
import { checkEnum, checkExecutorSessionId, checkJsonObject, checkRange, checkText } from "../validate.ts";
import { attemptReport } from "./attempt_report.ts";

/** Records how an attempt ended; a repeated report of the same ending is harmless. */
export async function finishJob(
  engine: Engine,
  caller: LauncherPrincipal,
  req: FinishJobRequest,
): Promise<MessageInitShape<typeof FinishJobResponseSchema>> {
  const report = attemptReport(engine, caller.launcherId, req);
  const ending = reportedEnding(checkEnum(req.state, JobStateSchema, "state"), req.failureReason);
  const outcome: AttemptOutcome = {
    ...ending,
    error: checkText(req.error, "error", 64 * 1024),
    exitCode: req.exitCode ?? null,
    result: req.result === undefined ? null : checkJsonObject(req.result, "result", 1024 * 1024),
    executorSessionId: checkExecutorSessionId(req.executorSessionId, "executorSessionId"),
  };
  const nextEventOffset = req.nextEventOffset === undefined
    ? null
    : checkRange(Number(req.nextEventOffset), "nextEventOffset", 0, Number.MAX_SAFE_INTEGER);
  const finished = endReportedAttempt(engine.db, { ...report, outcome, nextEventOffset }, engine.policy, engine.now());
  return { job: jobToProto(await engine.write(finished)) };
}
