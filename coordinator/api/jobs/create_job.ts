import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CreateJobRequest, CreateJobResponseSchema } from "../../../gen/tether/v1/job_service_pb.ts";
import type { Engine } from "../../dispatch/engine.ts";
import { type CreatedJob, createJob as insertJob } from "../../storage/create_job.ts";
import { jobToProto } from "../to_proto.ts";
import { createJobInput } from "./create_job_input.ts";

/** Queues a job; a repeated idempotency key answers with the first job. Refused while the store is nearly full. */
export async function createJob(
  engine: Engine,
  req: CreateJobRequest,
): Promise<MessageInitShape<typeof CreateJobResponseSchema>> {
  const input = createJobInput(req, engine.config);
  await engine.storeGuard.admitGrowth();
  const { job, existing } = await engine.writeHandingOffAtCommit<CreatedJob>((committed) =>
    insertJob(engine.db, input, engine.now(), committed)
  );
  return { job: jobToProto(job), existing };
}
