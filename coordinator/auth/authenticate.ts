import { Code, ConnectError } from "@connectrpc/connect";
import type { Engine } from "../dispatch/engine.ts";
import { unauthenticated } from "../domain/errors.ts";
import { tokenState } from "../domain/token_state.ts";
import { findToken } from "../storage/find_token.ts";
import type { LauncherRow } from "../storage/db/rows.ts";
import type { Principal } from "./principal.ts";
import { parseBearer, sameHash } from "./secrets.ts";

const howToGetOne = "an admin creates one with `npm run coordinator -- tokens create --role client --name <you>` " +
  "(npm start writes one to data/client.token)";

/**
 * Who an Authorization header proves the caller to be, or UNAUTHENTICATED
 * saying how to get a credential. Tokens are looked up on every request, so
 * a revocation holds from the next request on every replica; a launcher's
 * credential is checked against its launcher's row (cached, and dropped the
 * moment a registration replaces the credential).
 */
export async function authenticate(engine: Engine, authorization: string | null): Promise<Principal> {
  if (authorization === null || authorization === "") {
    throw unauthenticated(`this call needs a bearer token: send "Authorization: Bearer <token>"; ${howToGetOne}`);
  }
  const match = /^Bearer +(\S+) *$/i.exec(authorization);
  if (!match) throw unauthenticated(`the Authorization header must read "Bearer <token>"; ${howToGetOne}`);
  const bearer = parseBearer(match[1]!);
  if (!bearer) {
    throw unauthenticated(
      "the bearer token is malformed: tether's tokens start with tth_ (API tokens) or thl_ (launcher credentials)",
    );
  }
  const now = engine.now();
  if (bearer.kind === "api-token") {
    const token = await findToken(engine.db, bearer.hash);
    if (!token || !sameHash(token.secret_hash, bearer.hash)) {
      throw unauthenticated(`the bearer token is not known to this coordinator; ${howToGetOne}`);
    }
    const state = tokenState(token, now);
    if (state === "revoked") {
      throw unauthenticated(`the token "${token.name}" (${token.id}) was revoked; ask an admin for a new one`);
    }
    if (state === "expired") {
      throw unauthenticated(
        `the token "${token.name}" (${token.id}) expired at ${new Date(token.expire_time!).toISOString()}; ` +
          "ask an admin for a new one",
      );
    }
    return { kind: "token", tokenId: token.id, name: token.name, role: token.role };
  }
  const launcher = await engine.launcher(bearer.launcherId).catch((error: unknown) => {
    if (error instanceof ConnectError && error.code === Code.NotFound) return null;
    throw error;
  });
  if (!launcher) throw unknownCredential();
  checkCredential(launcher, bearer.hash);
  return { kind: "launcher", launcherId: launcher.id, credentialHash: bearer.hash };
}

/**
 * Throws UNAUTHENTICATED unless `credentialHash` is the launcher's current
 * credential. Only the holder of the credential the latest registration
 * replaced learns which instance took over; anyone else learns nothing about
 * the launcher, not even whether it exists. Also for a poll held across a
 * registration: it looks again whenever the row changes.
 */
export function checkCredential(launcher: LauncherRow, credentialHash: string): void {
  if (sameHash(launcher.credential_hash, credentialHash)) return;
  if (!sameHash(launcher.previous_credential_hash, credentialHash)) throw unknownCredential();
  throw unauthenticated(
    `this credential of launcher "${launcher.id}" was replaced: instance "${launcher.instance_id}" registered ` +
      `at ${new Date(launcher.register_time).toISOString()}, and only the newest registration acts for a launcher`,
  );
}

function unknownCredential() {
  return unauthenticated(
    "the launcher credential is not valid (never issued, or replaced by registrations since): " +
      "a launcher gets its credential from RegisterLauncher, with a registration token",
  );
}
