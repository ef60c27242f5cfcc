import { setImmediate } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import {
  type WatchJobRequest,
  type WatchJobResponse,
  WatchJobResponseSchema,
} from "../../../gen/tether/v1/job_service_pb.ts";
import type { Engine } from "../../dispatch/engine.ts";
import { isTerminal } from "../../domain/job_states.ts";
import type { JobRow } from "../../storage/db/rows.ts";
import { loadJob } from "../../storage/load_job.ts";
import { readJobEvents, type StoredEvent } from "../../storage/read_job_events.ts";
import { eventToProto, jobToProto } from "../to_proto.ts";
import { checkRange, requireText } from "../validate.ts";

/**
 * The events a watch reads at a time: a stream sends one page before it
 * reads the next, so a slow or paused reader costs about one page of memory,
 * and one page is the most a watch does in one turn of the event loop.
 */
const eventPage = { limit: 500, maxBytes: 256 * 1024 };

/**
 * One message of a watch before it is made a proto message: an event keeps
 * its data as stored (JSON text), so that the NDJSON form can send it as it
 * is, without parsing and printing it again.
 */
export type WatchItem =
  | { readonly case: "job"; readonly job: JobRow }
  | { readonly case: "event"; readonly event: StoredEvent }
  | { readonly case: "keepalive" };

/** A watch's item as the RPC's message. */
export function watchMessage(item: WatchItem): WatchJobResponse {
  switch (item.case) {
    case "job":
      return create(WatchJobResponseSchema, { kind: { case: "job", value: jobToProto(item.job) } });
    case "event":
      return create(WatchJobResponseSchema, { kind: { case: "event", value: eventToProto(item.event) } });
    case "keepalive":
      return create(WatchJobResponseSchema, { kind: { case: "keepalive", value: {} } });
  }
}

/** WatchJob, the RPC: the items of `watchItems` as messages. */
export async function* watchJob(
  engine: Engine,
  req: WatchJobRequest,
  clientSignal: AbortSignal,
): AsyncGenerator<WatchJobResponse> {
  for await (const item of watchItems(engine, req, clientSignal)) yield watchMessage(item);
}

/**
 * Streams a job: the job as it is, its events from the requested offset,
 * then new events and every state change as they happen, and a keepalive
 * whenever it has been quiet for --watch-keepalive. It ends once the job has
 * ended and every event was sent, or when the client goes away.
 */
export async function* watchItems(
  engine: Engine,
  req: WatchJobRequest,
  clientSignal: AbortSignal,
): AsyncGenerator<WatchItem> {
  const id = requireText(req.id, "id", 128);
  let offset = checkRange(Number(req.fromOffset), "fromOffset", 0, Number.MAX_SAFE_INTEGER);
  const signal = AbortSignal.any([clientSignal, engine.closing]);
  let sentState: number | null = null;
  while (!signal.aborted) {
    // Ask for the next change before reading, so a change during the read is not missed.
    const changed = engine.watchers.nextChange(id, signal);
    const job = await loadJob(engine.db, id);
    // The job comes first, as it is; a later end comes after its events, which were all committed before it.
    const endsNow = sentState !== null && isTerminal(job.state);
    if (sentState !== job.state && !endsNow) {
      yield { case: "job", job };
      sentState = job.state;
    }
    for (let more = true; more && !signal.aborted;) {
      const from = offset;
      const page = await engine.eventPages.page(id, from, () => readJobEvents(engine.db, id, from, eventPage));
      for (const event of page.events) {
        yield { case: "event", event };
        offset = event.offset + 1;
      }
      more = page.more;
      // A turn of the event loop between pages: on SQLite a read runs on it, and many watches replaying
      // at once must not hold it for all their pages.
      await setImmediate();
    }
    if (sentState !== job.state) {
      yield { case: "job", job };
      sentState = job.state;
    }
    // An ended job takes no more events, and all of them were committed before it ended.
    if (isTerminal(job.state)) return;
    while (!(await changedWithin(changed, engine.config.watchKeepaliveMs)) && !signal.aborted) yield { case: "keepalive" };
  }
}

/** Whether `changed` settles within `ms`. */
async function changedWithin(changed: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const quiet = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([changed.then(() => true), quiet]);
  } finally {
    clearTimeout(timer);
  }
}
