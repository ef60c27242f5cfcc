import type { ServiceImpl } from "@connectrpc/connect";
import { LauncherStateSchema } from "../../../gen/tether/v1/launcher_pb.ts";
import type { OperatorService } from "../../../gen/tether/v1/operator_service_pb.ts";
import { issueToken } from "../../auth/issue_token.ts";
import type { Engine } from "../../dispatch/engine.ts";
import { listTokens, revokeToken } from "../../storage/api_tokens.ts";
import { deregisterLauncher, drainLauncher } from "../../storage/launchers.ts";
import { listLaunchers } from "../../storage/list_launchers.ts";
import { launcherToProto, tokenToProto } from "../to_proto.ts";
import { checkEnumFilter, durationMs, requireName, requireText } from "../validate.ts";

/** The operators' API: launchers seen, drained and removed; tokens made and revoked. */
export function operatorService(engine: Engine): ServiceImpl<typeof OperatorService> {
  const { db, policy } = engine;
  return {
    async listLaunchers(req) {
      const states = checkEnumFilter(req.states, LauncherStateSchema, "states");
      return { launchers: (await listLaunchers(db, states)).map(launcherToProto) };
    },

    async drainLauncher(req) {
      const launcher = await drainLauncher(db, requireText(req.launcherId, "launcherId", 128), engine.now());
      await engine.publish({ jobs: [], launchers: [launcher.id] });
      return { launcher: launcherToProto(launcher) };
    },

    async removeLauncher(req) {
      const id = requireText(req.launcherId, "launcherId", 128);
      const { launcher, changes } = await deregisterLauncher(db, id, policy, engine.now(), { removed: true });
      await engine.publish(changes);
      return { launcher: launcherToProto(launcher) };
    },

    async createToken(req) {
      const { token, secret } = await issueToken(db, {
        name: requireName(req.name, "name"),
        role: req.role,
        ttlMs: durationMs(req.ttl, "ttl", 1_000, 10 * 365 * 24 * 3_600_000),
      }, engine.now());
      return { token: tokenToProto(token), secret };
    },

    async listTokens(req) {
      return { tokens: (await listTokens(db, req.includeInactive, engine.now())).map(tokenToProto) };
    },

    async revokeToken(req) {
      return { token: tokenToProto(await revokeToken(db, requireText(req.id, "id", 128), engine.now())) };
    },
  };
}
