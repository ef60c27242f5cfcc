import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  type ListSessionsRequest,
  type ListSessionsResponseSchema,
  SessionStateSchema,
} from "../../../gen/tether/v1/session_pb.ts";
import type { Engine } from "../../dispatch/engine.ts";
import { listSessions as selectSessions } from "../../storage/list_sessions.ts";
import { sessionToProto } from "../to_proto.ts";
import { checkEnumFilter, checkText, decodePageToken, nextPageToken, pageSize } from "../validate.ts";

const isCursor = (v: unknown): v is { time: number; id: string } =>
  typeof v === "object" && v !== null && Number.isSafeInteger((v as { time: unknown }).time) &&
  typeof (v as { id: unknown }).id === "string";

/** Sessions, newest first, a page at a time. */
export async function listSessions(
  engine: Engine,
  req: ListSessionsRequest,
): Promise<MessageInitShape<typeof ListSessionsResponseSchema>> {
  const limit = pageSize(req.pageSize);
  const rows = await selectSessions(engine.db, {
    states: checkEnumFilter(req.states, SessionStateSchema, "states"),
    launcherId: req.launcherId === "" ? null : checkText(req.launcherId, "launcherId", 128),
    before: decodePageToken(req.pageToken, isCursor),
    limit,
  });
  return {
    sessions: rows.map(sessionToProto),
    nextPageToken: nextPageToken(rows, rows.length === limit, (last) => ({ time: last.create_time, id: last.id })),
  };
}
