import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CreateTokenRequest, CreateTokenResponseSchema } from "../../../gen/tether/v1/operator_service_pb.ts";
import { issueToken } from "../../auth/issue_token.ts";
import type { Engine } from "../../dispatch/engine.ts";
import { tokenToProto } from "../to_proto.ts";
import { durationMs, requireName } from "../validate.ts";

/** Makes a token; its secret is in this answer only. */
export async function createToken(
  engine: Engine,
  req: CreateTokenRequest,
): Promise<MessageInitShape<typeof CreateTokenResponseSchema>> {
  const { token, secret } = await issueToken(engine.db, {
    name: requireName(req.name, "name"),
    role: req.role,
    ttlMs: durationMs(req.ttl, "ttl", 1_000, 10 * 365 * 24 * 3_600_000),
  }, engine.now());
  return { token: tokenToProto(token), secret };
}
