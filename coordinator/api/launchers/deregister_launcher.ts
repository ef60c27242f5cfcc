import type { MessageInitShape } from "@bufbuild/protobuf";
import type { DeregisterLauncherResponseSchema } from "../../../gen/tether/v1/launcher_service_pb.ts";
import type { LauncherPrincipal } from "../../auth/principal.ts";
import type { Engine } from "../../dispatch/engine.ts";
import { deregisterLauncher as deregisterStoredLauncher } from "../../storage/deregister_launcher.ts";
import { launcherToProto } from "../to_proto.ts";

/** A launcher leaving: it takes no more work, and what it still holds goes back or ends LAUNCHER_LOST. */
export async function deregisterLauncher(
  engine: Engine,
  caller: LauncherPrincipal,
): Promise<MessageInitShape<typeof DeregisterLauncherResponseSchema>> {
  const left = deregisterStoredLauncher(engine.db, caller.launcherId, engine.policy, engine.now(), { removed: false });
  return { launcher: launcherToProto(await engine.write(left)) };
}
