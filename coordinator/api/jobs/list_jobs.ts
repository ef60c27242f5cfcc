import type { MessageInitShape } from "@bufbuild/protobuf";
import { JobStateSchema } from "../../../gen/tether/v1/job_pb.ts";
import type { ListJobsRequest, ListJobsResponseSchema } from "../../../gen/tether/v1/job_service_pb.ts";
import type { Engine } from "../../dispatch/engine.ts";
import { listJobs as selectJobs } from "../../storage/list_jobs.ts";
import { jobToProto } from "../to_proto.ts";
import { checkEnumFilter, checkText, decodePageToken, encodePageToken, pageSize } from "../validate.ts";

const isSeqCursor = (v: unknown): v is { seq: number } =>
  typeof v === "object" && v !== null && Number.isSafeInteger((v as { seq: unknown }).seq);

/** Jobs, newest first, a page at a time. */
export async function listJobs(
  engine: Engine,
  req: ListJobsRequest,
): Promise<MessageInitShape<typeof ListJobsResponseSchema>> {
  const limit = pageSize(req.pageSize);
  const cursor = decodePageToken(req.pageToken, isSeqCursor);
  const rows = await selectJobs(engine.db, {
    states: checkEnumFilter(req.states, JobStateSchema, "states"),
    sessionId: req.sessionId === "" ? null : checkText(req.sessionId, "sessionId", 128),
    launcherId: req.launcherId === "" ? null : checkText(req.launcherId, "launcherId", 128),
    beforeSeq: cursor?.seq ?? null,
    limit,
  });
  const last = rows.at(-1);
  return {
    jobs: rows.map(jobToProto),
    nextPageToken: rows.length === limit && last ? encodePageToken({ seq: last.seq }) : "",
  };
}
