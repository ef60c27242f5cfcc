import type { MessageInitShape } from "@bufbuild/protobuf";
import type { GetJobRequest, GetJobResponseSchema } from "../../../gen/tether/v1/job_service_pb.ts";
import type { Engine } from "../../dispatch/engine.ts";
import { loadJob } from "../../storage/load_job.ts";
import { jobToProto } from "../to_proto.ts";
import { requireText } from "../validate.ts";

/** One job as it is now. */
export async function getJob(
  engine: Engine,
  req: GetJobRequest,
): Promise<MessageInitShape<typeof GetJobResponseSchema>> {
  return { job: jobToProto(await loadJob(engine.db, requireText(req.id, "id", 128))) };
}
