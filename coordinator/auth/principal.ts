import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import { TokenRole } from "../../gen/tether/v1/token_pb.ts";
import { permissionDenied } from "../domain/errors.ts";

/** Who a request comes from, as its credential proves: a token's holder, or one launcher instance. */
export type Principal =
  | { readonly kind: "token"; readonly tokenId: string; readonly name: string; readonly role: TokenRole }
  | {
    readonly kind: "launcher";
    readonly launcherId: string;
    /** The hash of the credential the call carried, to tell whether it is still the launcher's. */
    readonly credentialHash: string;
  };

/** A principal that is a launcher instance. */
export type LauncherPrincipal = Extract<Principal, { kind: "launcher" }>;

/** The principal of the current call, set by the auth gate (through contextValues) before any handler runs. */
export const principalKey = createContextKey<Principal | null>(null, { description: "tether principal" });

/** The launcher instance a call acts for: from its credential, never from the request. */
export function callingLauncher(ctx: HandlerContext): LauncherPrincipal {
  const principal = ctx.values.get(principalKey);
  if (principal?.kind !== "launcher") {
    // The access table lets only launcher credentials reach these handlers; this is the second lock.
    throw permissionDenied("this call needs a launcher credential (the one RegisterLauncher returned)");
  }
  return principal;
}

/** How a role is spelt in messages and on the command line. */
export function roleName(role: TokenRole): string {
  return TokenRole[role]?.toLowerCase().replaceAll("_", "-") ?? `role ${role}`;
}

/** The role a command-line or message spelling names, or undefined. */
export function roleFromName(name: string): TokenRole | undefined {
  const role = TokenRole[name.toUpperCase().replaceAll("-", "_") as keyof typeof TokenRole];
  return typeof role === "number" && role !== TokenRole.UNSPECIFIED ? role : undefined;
}
