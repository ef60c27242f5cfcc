import type { MessageInitShape } from "@bufbuild/protobuf";
import type { AppendJobEventsRequest, AppendJobEventsResponseSchema } from "../../../gen/tether/v1/launcher_service_pb.ts";
import type { LauncherPrincipal } from "../../auth/principal.ts";
import type { Engine } from "../../dispatch/engine.ts";
import { appendJobEvents as storeEvents } from "../../storage/append_job_events.ts";
import { invalidArgument } from "../../domain/errors.ts";
import { checkExecutorSessionId, checkJsonObject, checkRange } from "../validate.ts";
import { attemptReport } from "./attempt_report.ts";

/** Stores a batch of an attempt's events at its offset; a resent batch is harmless. */
export async function appendJobEvents(
  engine: Engine,
  caller: LauncherPrincipal,
  req: AppendJobEventsRequest,
): Promise<MessageInitShape<typeof AppendJobEventsResponseSchema>> {
  const report = attemptReport(engine, caller.launcherId, req);
  if (req.events.length > 1000) throw invalidArgument("events may hold at most 1000 events per batch");
  const events = req.events.map((e, i) => checkJsonObject(e, `events[${i}]`, 1024 * 1024));
  const firstOffset = checkRange(Number(req.firstOffset), "firstOffset", 0, Number.MAX_SAFE_INTEGER);
  const executorSessionId = checkExecutorSessionId(req.executorSessionId, "executorSessionId");
  // The launcher keeps the events and sends them again: they are stored once there is room.
  await engine.storeGuard.admitGrowth();
  const job = await engine.write(storeEvents(
    engine.db,
    { ...report, firstOffset, events, executorSessionId },
    engine.config.maxJobEventBytes,
    engine.now(),
  ));
  return { nextOffset: BigInt(job.next_event_offset) };
}
