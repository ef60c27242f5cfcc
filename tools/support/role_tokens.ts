import { randomBytes } from "node:crypto";
import { TokenRole } from "../../gen/tether/v1/token_pb.ts";
import { issueToken } from "../../coordinator/auth/issue_token.ts";
import { type Db, openDatabase } from "../../coordinator/storage/db/open_database.ts";

/** One token of each role, made on a coordinator's database. */
export interface RoleTokens {
  readonly admin: string;
  readonly client: string;
  readonly registration: string;
}

/**
 * Makes one token of each role on an open database, as `tokens create`
 * would, named `<who>-<role>-<random>` (names are unique among live tokens,
 * so a database given twice, or a restart, can get more).
 */
export async function issueRoleTokens(db: Db, who: string): Promise<RoleTokens> {
  const suffix = randomBytes(4).toString("hex");
  const make = async (role: TokenRole, name: string) =>
    (await issueToken(db, { name: `${who}-${name}-${suffix}`, role, ttlMs: null }, Date.now())).secret;
  return {
    admin: await make(TokenRole.ADMIN, "admin"),
    client: await make(TokenRole.CLIENT, "client"),
    registration: await make(TokenRole.LAUNCHER_REGISTRATION, "registration"),
  };
}

/** Makes one token of each role on the database at `url` (a SQLite file or postgres:// URL), before a coordinator opens it. */
export async function issueRoleTokensAt(url: string, who: string): Promise<RoleTokens> {
  const db = await openDatabase(url);
  try {
    return await issueRoleTokens(db, who);
  } finally {
    await db.destroy();
  }
}
