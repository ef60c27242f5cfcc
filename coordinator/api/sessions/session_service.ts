import type { ServiceImpl } from "@connectrpc/connect";
import { SessionStateSchema } from "../../../gen/tether/v1/session_pb.ts";
import type { SessionService } from "../../../gen/tether/v1/session_pb.ts";
import type { Engine } from "../../dispatch/engine.ts";
import { listSessions, loadSession } from "../../storage/sessions.ts";
import { sessionToProto } from "../to_proto.ts";
import { checkEnumFilter, checkText, decodePageToken, encodePageToken, pageSize, requireText } from "../validate.ts";

const isCursor = (v: unknown): v is { time: number; id: string } =>
  typeof v === "object" && v !== null && Number.isSafeInteger((v as { time: unknown }).time) &&
  typeof (v as { id: unknown }).id === "string";

/** The client API for sessions (read-only). */
export function sessionService(engine: Engine): ServiceImpl<typeof SessionService> {
  return {
    async getSession(req) {
      return { session: sessionToProto(await loadSession(engine.db, requireText(req.id, "id", 128))) };
    },

    async listSessions(req) {
      const limit = pageSize(req.pageSize);
      const rows = await listSessions(engine.db, {
        states: checkEnumFilter(req.states, SessionStateSchema, "states"),
        launcherId: req.launcherId === "" ? null : checkText(req.launcherId, "launcherId", 128),
        before: decodePageToken(req.pageToken, isCursor),
        limit,
      });
      const last = rows.at(-1);
      return {
        sessions: rows.map(sessionToProto),
        nextPageToken: rows.length === limit && last ? encodePageToken({ time: last.create_time, id: last.id }) : "",
      };
    },
  };
}
