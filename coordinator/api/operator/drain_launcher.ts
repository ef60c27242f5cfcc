import type { MessageInitShape } from "@bufbuild/protobuf";
import type { DrainLauncherRequest, DrainLauncherResponseSchema } from "../../../gen/tether/v1/operator_service_pb.ts";
import type { Engine } from "../../dispatch/engine.ts";
import { drainLauncher as drainStoredLauncher } from "../../storage/drain_launcher.ts";
import { launcherToProto } from "../to_proto.ts";
import { requireText } from "../validate.ts";

/** Drains a launcher: it finishes what it runs and takes nothing new. */
export async function drainLauncher(
  engine: Engine,
  req: DrainLauncherRequest,
): Promise<MessageInitShape<typeof DrainLauncherResponseSchema>> {
  const id = requireText(req.launcherId, "launcherId", 128);
  return { launcher: launcherToProto(await engine.write(drainStoredLauncher(engine.db, id, engine.now()))) };
}
