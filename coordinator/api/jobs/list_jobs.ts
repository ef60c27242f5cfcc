import type { MessageInitShape } from "@bufbuild/protobuf";
import { JobStateSchema } from "../../../gen/tether/v1/job_pb.ts";
import {
  JobView,
  JobViewSchema,
  type ListJobsRequest,
  type ListJobsResponseSchema,
} from "../../../gen/tether/v1/job_service_pb.ts";
import type { Engine } from "../../dispatch/engine.ts";
import { listJobs as selectJobs } from "../../storage/list_jobs.ts";
import { countJsonEntries } from "../entry_count.ts";
import { jobToProto } from "../to_proto.ts";
import { checkEnum, checkEnumFilter, checkText, decodePageToken, nextPageToken, pageSize } from "../validate.ts";

/**
 * About how much of parameters and results one page of JOB_VIEW_FULL
 * carries: its answer stays near 1 MiB, which takes tens of milliseconds to
 * encode (4 MiB took over a hundred on the test machine).
 */
const fullPageChars = 1024 * 1024;

const isSeqCursor = (v: unknown): v is { seq: number } =>
  typeof v === "object" && v !== null && Number.isSafeInteger((v as { seq: unknown }).seq);

/** Jobs, newest first, a page at a time. */
export async function listJobs(
  engine: Engine,
  req: ListJobsRequest,
): Promise<MessageInitShape<typeof ListJobsResponseSchema>> {
  const limit = pageSize(req.pageSize);
  const cursor = decodePageToken(req.pageToken, isSeqCursor);
  const full = checkEnum(req.view, JobViewSchema, "view", true) === JobView.FULL;
  const { jobs: rows, more: moreRows } = await selectJobs(engine.db, {
    states: checkEnumFilter(req.states, JobStateSchema, "states"),
    sessionId: req.sessionId === "" ? null : checkText(req.sessionId, "sessionId", 128),
    launcherId: req.launcherId === "" ? null : checkText(req.launcherId, "launcherId", 128),
    beforeSeq: cursor?.seq ?? null,
    limit,
    fullWithin: full ? fullPageChars : null,
  });
  // Encoding an answer costs by its entries, as decoding a request does: a full page holds about as many
  // as one job may (parameters and a result, each within --max-request-entries), and at least one job.
  const page = full ? withinEntries(rows, 2 * engine.config.maxRequestEntries) : rows;
  const more = moreRows || page.length < rows.length;
  return { jobs: page.map(jobToProto), nextPageToken: nextPageToken(page, more, (last) => ({ seq: last.seq })) };
}

/** The first rows whose parameters and results hold at most `budget` entries in all (at least one row). */
function withinEntries<R extends { parameters: string | null; result: string | null }>(rows: R[], budget: number): R[] {
  let entries = 0;
  const count = (json: string | null) => json === null ? 0 : countJsonEntries(Buffer.from(json), budget, Infinity).entries;
  for (let i = 0; i < rows.length; i++) {
    entries += count(rows[i]!.parameters) + count(rows[i]!.result);
    if (entries > budget) return rows.slice(0, Math.max(i, 1));
  }
  return rows;
}
