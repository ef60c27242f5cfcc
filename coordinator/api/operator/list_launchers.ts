import type { MessageInitShape } from "@bufbuild/protobuf";
import { LauncherStateSchema } from "../../../gen/tether/v1/launcher_pb.ts";
import type { ListLaunchersRequest, ListLaunchersResponseSchema } from "../../../gen/tether/v1/operator_service_pb.ts";
import type { Engine } from "../../dispatch/engine.ts";
import { listLaunchers as selectLaunchers } from "../../storage/list_launchers.ts";
import { launcherToProto } from "../to_proto.ts";
import { checkEnumFilter } from "../validate.ts";

/** The launchers seen, in the states asked for. */
export async function listLaunchers(
  engine: Engine,
  req: ListLaunchersRequest,
): Promise<MessageInitShape<typeof ListLaunchersResponseSchema>> {
  const states = checkEnumFilter(req.states, LauncherStateSchema, "states");
  return { launchers: (await selectLaunchers(engine.db, states)).map(launcherToProto) };
}
