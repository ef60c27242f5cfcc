import { randomUUID } from "node:crypto";
import type { Interceptor } from "@connectrpc/connect";
import { TokenRole } from "../../gen/tether/v1/token_pb.ts";
import { issueToken } from "../../coordinator/auth/issue_token.ts";
import { openDatabase } from "../../coordinator/storage/db/open_database.ts";
import type { Db } from "../../coordinator/storage/db/open_database.ts";

/** One token of each role, made on a test coordinator's database. */
export interface TestTokens {
  readonly admin: string;
  readonly client: string;
  readonly registration: string;
}

/** Makes one token of each role on an open database (names of their own, so a restart can make more). */
export async function issueTestTokens(db: Db): Promise<TestTokens> {
  const suffix = randomUUID().slice(0, 8);
  const make = async (role: TokenRole, name: string) =>
    (await issueToken(db, { name: `${name}-${suffix}`, role, ttlMs: null }, Date.now())).secret;
  return {
    admin: await make(TokenRole.ADMIN, "test-admin"),
    client: await make(TokenRole.CLIENT, "test-client"),
    registration: await make(TokenRole.LAUNCHER_REGISTRATION, "test-registration"),
  };
}

/** Makes one token of each role on the database at `url` (a SQLite file or postgres:// URL), as the tokens command would. */
export async function issueTestTokensAt(url: string): Promise<TestTokens> {
  const db = await openDatabase(url);
  try {
    return await issueTestTokens(db);
  } finally {
    await db.destroy();
  }
}

/** Sends `token` as a bearer token on every call. */
export function bearer(token: string): Interceptor {
  return (next) => (req) => {
    req.header.set("Authorization", `Bearer ${token}`);
    return next(req);
  };
}
