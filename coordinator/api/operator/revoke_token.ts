import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RevokeTokenRequest, RevokeTokenResponseSchema } from "../../../gen/tether/v1/operator_service_pb.ts";
import type { Engine } from "../../dispatch/engine.ts";
import { revokeToken as revokeStoredToken } from "../../storage/revoke_token.ts";
import { tokenToProto } from "../to_proto.ts";
import { requireText } from "../validate.ts";

/** Revokes a token from the next request on, on every replica. */
export async function revokeToken(
  engine: Engine,
  req: RevokeTokenRequest,
): Promise<MessageInitShape<typeof RevokeTokenResponseSchema>> {
  const id = requireText(req.id, "id", 128);
  return { token: tokenToProto(await revokeStoredToken(engine.db, id, engine.now())) };
}
