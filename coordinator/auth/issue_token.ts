import { TokenRole } from "../../gen/tether/v1/token_pb.ts";
import { invalidArgument } from "../domain/errors.ts";
import { createToken } from "../storage/create_token.ts";
import type { Db } from "../storage/db/open_database.ts";
import type { ApiTokenRow } from "../storage/db/rows.ts";
import { hashSecret, newApiToken } from "./secrets.ts";

/**
 * Makes a token of `role` and stores only its hash; the secret is returned
 * here and nowhere else. The OperatorService and the `tokens` command both
 * come through here.
 */
export async function issueToken(
  db: Db,
  t: { name: string; role: TokenRole; ttlMs: number | null },
  now: number,
): Promise<{ token: ApiTokenRow; secret: string }> {
  if (t.role === TokenRole.UNSPECIFIED || TokenRole[t.role] === undefined) {
    throw invalidArgument("role must be TOKEN_ROLE_ADMIN, TOKEN_ROLE_CLIENT or TOKEN_ROLE_LAUNCHER_REGISTRATION");
  }
  const secret = newApiToken();
  const token = await createToken(db, {
    name: t.name,
    role: t.role,
    secretHash: hashSecret(secret),
    expireTime: t.ttlMs === null ? null : now + t.ttlMs,
  }, now);
  return { token, secret };
}
