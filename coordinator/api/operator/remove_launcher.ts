import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RemoveLauncherRequest, RemoveLauncherResponseSchema } from "../../../gen/tether/v1/operator_service_pb.ts";
import type { Engine } from "../../dispatch/engine.ts";
import { deregisterLauncher } from "../../storage/deregister_launcher.ts";
import { launcherToProto } from "../to_proto.ts";
import { requireText } from "../validate.ts";

/** Deregisters a launcher for good: its jobs are taken away and its identity is freed for another token. */
export async function removeLauncher(
  engine: Engine,
  req: RemoveLauncherRequest,
): Promise<MessageInitShape<typeof RemoveLauncherResponseSchema>> {
  const id = requireText(req.launcherId, "launcherId", 128);
  const removed = deregisterLauncher(engine.db, id, engine.policy, engine.now(), { removed: true });
  return { launcher: launcherToProto(await engine.write(removed)) };
}
