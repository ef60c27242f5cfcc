import type { MessageInitShape } from "@bufbuild/protobuf";
import type { GetSessionRequest, GetSessionResponseSchema } from "../../../gen/tether/v1/session_pb.ts";
import type { Engine } from "../../dispatch/engine.ts";
import { loadSession } from "../../storage/load_session.ts";
import { sessionToProto } from "../to_proto.ts";
import { requireText } from "../validate.ts";

/** One session as it is now. */
export async function getSession(
  engine: Engine,
  req: GetSessionRequest,
): Promise<MessageInitShape<typeof GetSessionResponseSchema>> {
  return { session: sessionToProto(await loadSession(engine.db, requireText(req.id, "id", 128))) };
}
