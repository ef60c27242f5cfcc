import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ListTokensRequest, ListTokensResponseSchema } from "../../../gen/tether/v1/operator_service_pb.ts";
import type { Engine } from "../../dispatch/engine.ts";
import { listTokens as selectTokens } from "../../storage/list_tokens.ts";
import { tokenToProto } from "../to_proto.ts";

/** The tokens that work (all of them with includeInactive), without their secrets. */
export async function listTokens(
  engine: Engine,
  req: ListTokensRequest,
): Promise<MessageInitShape<typeof ListTokensResponseSchema>> {
  return { tokens: (await selectTokens(engine.db, req.includeInactive, engine.now())).map(tokenToProto) };
}
