import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { JobService } from "../../gen/tether/v1/job_service_pb.ts";
import { LauncherService } from "../../gen/tether/v1/launcher_service_pb.ts";
import { OperatorService } from "../../gen/tether/v1/operator_service_pb.ts";
import { SessionService } from "../../gen/tether/v1/session_pb.ts";
import { TokenRole } from "../../gen/tether/v1/token_pb.ts";
import { permissionDenied } from "../domain/errors.ts";
import { type Principal, roleName } from "./principal.ts";

/** Who may call an RPC: token holders of some roles, or a launcher with its own credential. */
export type Access = { readonly roles: readonly TokenRole[] } | "launcher";

const { ADMIN, CLIENT, LAUNCHER_REGISTRATION } = TokenRole;
const people: Access = { roles: [ADMIN, CLIENT] };
const admins: Access = { roles: [ADMIN] };

/**
 * Every RPC and who may call it, in one table. An RPC missing here is
 * refused to everyone (a test checks that every RPC of every service has
 * its line), so a new RPC cannot open a door by being forgotten.
 */
export const accessTable: ReadonlyMap<DescService, Readonly<Record<string, Access>>> = new Map<
  DescService,
  Record<string, Access>
>([
  [JobService, { createJob: people, getJob: people, listJobs: people, cancelJob: people, watchJob: people }],
  [SessionService, { getSession: people, listSessions: people }],
  [LauncherService, {
    registerLauncher: { roles: [ADMIN, LAUNCHER_REGISTRATION] },
    pollJobs: "launcher",
    acceptJob: "launcher",
    heartbeat: "launcher",
    appendJobEvents: "launcher",
    finishJob: "launcher",
    deregisterLauncher: "launcher",
  }],
  [OperatorService, {
    listLaunchers: people,
    drainLauncher: admins,
    removeLauncher: admins,
    createToken: admins,
    listTokens: admins,
    revokeToken: admins,
  }],
]);

/** Throws PERMISSION_DENIED, naming what the call needs, unless `principal` may call `method`. */
export function authorize(principal: Principal, method: DescMethod): void {
  const access = accessTable.get(method.parent)?.[method.localName];
  const what = `${method.parent.name}.${method.name}`;
  if (access === undefined) throw permissionDenied(`${what} is not open to anyone`);
  if (access === "launcher") {
    if (principal.kind === "launcher") return;
    throw permissionDenied(
      `${what} needs a launcher credential (the one RegisterLauncher returned), not a ${describe(principal)}`,
    );
  }
  if (principal.kind === "token" && access.roles.includes(principal.role)) return;
  throw permissionDenied(`${what} needs a token with role ${access.roles.map(roleName).join(" or ")}; this is a ${describe(principal)}`);
}

function describe(principal: Principal): string {
  return principal.kind === "launcher"
    ? `launcher credential`
    : `token with role ${roleName(principal.role)} ("${principal.name}")`;
}
