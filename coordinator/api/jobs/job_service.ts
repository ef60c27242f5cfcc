import type { ServiceImpl } from "@connectrpc/connect";
import { JobStateSchema } from "../../../gen/tether/v1/job_pb.ts";
import type { JobService } from "../../../gen/tether/v1/job_service_pb.ts";
import { createJobInput } from "./create_job_input.ts";
import type { Engine } from "../../dispatch/engine.ts";
import { cancelJob } from "../../storage/cancel_job.ts";
import { createJob } from "../../storage/create_job.ts";
import { listJobs } from "../../storage/list_jobs.ts";
import { loadJob } from "../../storage/load_job.ts";
import { jobToProto } from "../to_proto.ts";
import { checkEnumFilter, checkText, decodePageToken, encodePageToken, pageSize, requireText } from "../validate.ts";
import { watchJob } from "./watch_job.ts";

const isSeqCursor = (v: unknown): v is { seq: number } =>
  typeof v === "object" && v !== null && Number.isSafeInteger((v as { seq: unknown }).seq);

/** The client API for jobs. */
export function jobService(engine: Engine): ServiceImpl<typeof JobService> {
  const { db } = engine;
  return {
    async createJob(req) {
      const input = createJobInput(req, engine.config);
      // A held poll is handed the job once it is committed, while the commit is made durable: the
      // launcher starts nothing before its AcceptJob, which is durable only after the job is.
      let published: Promise<void> | undefined;
      const { job, existing } = await createJob(db, input, engine.now(), (created) => {
        if (created.existing) return;
        published = engine.publish({ jobs: [created.job], launchers: [] });
        // Awaited below once the commit is durable; a create whose sync fails answers with that failure.
        published.catch(() => {});
      });
      await published;
      return { job: jobToProto(job), existing };
    },

    async getJob(req) {
      return { job: jobToProto(await loadJob(db, requireText(req.id, "id", 128))) };
    },

    async listJobs(req) {
      const limit = pageSize(req.pageSize);
      const cursor = decodePageToken(req.pageToken, isSeqCursor);
      const rows = await listJobs(db, {
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
    },

    async cancelJob(req) {
      const id = requireText(req.id, "id", 128);
      const { job, changed } = await cancelJob(db, id, checkText(req.reason, "reason", 1024), engine.now());
      if (changed) await engine.publish({ jobs: [job], launchers: [] });
      return { job: jobToProto(job) };
    },

    watchJob: (req, ctx) => watchJob(engine, req, ctx.signal),
  };
}
