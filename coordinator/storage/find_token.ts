import type { Db } from "./db/open_database.ts";
import type { ApiTokenRow } from "./db/rows.ts";

/** The token with this secret hash, revoked or expired ones included (their callers are told why). */
export function findToken(db: Db, secretHash: string): Promise<ApiTokenRow | undefined> {
  return db.selectFrom("api_tokens").selectAll().where("secret_hash", "=", secretHash).executeTakeFirst();
}
