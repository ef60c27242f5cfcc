import type { MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import type { HandlerContext } from "@connectrpc/connect";
import { TokenRole } from "../../../gen/tether/v1/token_pb.ts";
import type { RegisterLauncherRequest, RegisterLauncherResponseSchema } from "../../../gen/tether/v1/launcher_service_pb.ts";
import { principalKey } from "../../auth/principal.ts";
import { hashSecret, newLauncherCredential } from "../../auth/secrets.ts";
import { invalidArgument, permissionDenied } from "../../domain/errors.ts";
import { launcherId } from "../../domain/ids.ts";
import type { Engine } from "../../dispatch/engine.ts";
import { registerLauncher as storeRegistration } from "../../storage/register_launcher.ts";
import { launcherToProto } from "../to_proto.ts";
import { checkLabels, checkRange, checkText, requireName, requireText } from "../validate.ts";

/**
 * Registers a launcher instance with a registration token and answers with
 * its credential, which every later call of the instance carries. A new
 * instance under the same name and host takes the identity over.
 */
export async function registerLauncher(
  engine: Engine,
  req: RegisterLauncherRequest,
  ctx: HandlerContext,
): Promise<MessageInitShape<typeof RegisterLauncherResponseSchema>> {
  const { config } = engine;
  if (req.executors.length === 0) throw invalidArgument("executors must list at least one executor profile");
  if (req.executors.length > 64) throw invalidArgument("executors may list at most 64 executor profiles");
  const registration = {
    name: requireName(req.name, "name"),
    hostname: requireText(req.hostname, "hostname", 253),
    labels: checkLabels(req.labels, "labels"),
    executors: req.executors.map((e, i) => requireName(e, `executors[${i}]`)),
    maxConcurrency: checkRange(req.maxConcurrency, "maxConcurrency", 1, 1000),
    version: checkText(req.version, "version", 64),
    instanceId: requireText(req.instanceId, "instanceId", 128),
  };
  const by = ctx.values.get(principalKey);
  if (by?.kind !== "token") throw permissionDenied("RegisterLauncher needs a registration token");
  const id = launcherId(registration.hostname, registration.name);
  const credential = newLauncherCredential(id);
  const { launcher, replaced } = await engine.write(storeRegistration(
    engine.db,
    {
      ...registration,
      credentialHash: hashSecret(credential),
      by: { tokenId: by.tokenId, admin: by.role === TokenRole.ADMIN },
    },
    { ...engine.policy, leaseMs: config.leaseMs },
    engine.now(),
    // The old credential must stop working the moment the new one is committed, not after the fsync.
    () => engine.launcherChanged(id),
  ));
  if (replaced) {
    engine.log.warn("launcher taken over by a new instance", {
      launcherId: id,
      oldInstanceId: replaced.instance_id,
      newInstanceId: launcher.instance_id,
      token: by.tokenId,
    });
  }
  return {
    launcher: launcherToProto(launcher),
    heartbeatInterval: durationFromMs(config.heartbeatIntervalMs),
    leaseDuration: durationFromMs(config.leaseMs),
    pollHold: durationFromMs(config.pollHoldMs),
    acceptTimeout: durationFromMs(config.acceptTimeoutMs),
    credential,
  };
}
