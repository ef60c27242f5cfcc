import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CancelJobRequest, CancelJobResponseSchema } from "../../../gen/tether/v1/job_service_pb.ts";
import type { Engine } from "../../dispatch/engine.ts";
import { cancelJob as cancelStoredJob } from "../../storage/cancel_job.ts";
import { jobToProto } from "../to_proto.ts";
import { checkText, requireText } from "../validate.ts";

/** Cancels a job: at once when no launcher runs it yet, else by asking its launcher to stop it. */
export async function cancelJob(
  engine: Engine,
  req: CancelJobRequest,
): Promise<MessageInitShape<typeof CancelJobResponseSchema>> {
  const id = requireText(req.id, "id", 128);
  const reason = checkText(req.reason, "reason", 1024);
  return { job: jobToProto(await engine.write(cancelStoredJob(engine.db, id, reason, engine.now()))) };
}
