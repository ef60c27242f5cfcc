import type { MessageInitShape } from "@bufbuild/protobuf";
import type { AcceptJobRequest, AcceptJobResponseSchema } from "../../../gen/tether/v1/launcher_service_pb.ts";
import type { LauncherPrincipal } from "../../auth/principal.ts";
import type { Engine } from "../../dispatch/engine.ts";
import { acceptJob as startAttempt } from "../../storage/accept_job.ts";
import { jobToProto } from "../to_proto.ts";
import { attemptReport } from "./attempt_report.ts";

/** Starts the attempt an offer stands for; a retried accept of the same attempt is harmless. */
export async function acceptJob(
  engine: Engine,
  caller: LauncherPrincipal,
  req: AcceptJobRequest,
): Promise<MessageInitShape<typeof AcceptJobResponseSchema>> {
  const report = attemptReport(engine, caller.launcherId, req);
  const { hostname } = await engine.launcher(caller.launcherId);
  return { job: jobToProto(await engine.write(startAttempt(engine.db, { ...report, hostname }, engine.now()))) };
}
