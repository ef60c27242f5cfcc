import type { TokenRole } from "../../gen/tether/v1/token_pb.ts";
import { alreadyExists, notFound } from "../domain/errors.ts";
import { newId } from "../domain/ids.ts";
import type { Db } from "./db/open_database.ts";
import type { ApiTokenRow } from "./db/rows.ts";
import { inTransaction } from "./db/transaction.ts";

export interface NewToken {
  name: string;
  role: TokenRole;
  /** The SHA-256 of the secret; the secret itself never reaches the database. */
  secretHash: string;
  expireTime: number | null;
}

/** Stores a token. Names are unique among the tokens not revoked. */
export function createToken(db: Db, t: NewToken, now: number): Promise<ApiTokenRow> {
  return inTransaction(db, async (tx) => {
    const taken = await tx.selectFrom("api_tokens").select("id").where("name", "=", t.name)
      .where("revoke_time", "is", null).executeTakeFirst();
    if (taken) {
      throw alreadyExists(`a token named "${t.name}" exists (${taken.id}); revoke it first or choose another name`);
    }
    return await tx.insertInto("api_tokens").values({
      id: newId("tok", now),
      name: t.name,
      role: t.role,
      secret_hash: t.secretHash,
      create_time: now,
      expire_time: t.expireTime,
      revoke_time: null,
    }).returningAll().executeTakeFirstOrThrow();
  });
}

/** The token with this secret hash, revoked or expired ones included (their callers are told why). */
export function findToken(db: Db, secretHash: string): Promise<ApiTokenRow | undefined> {
  return db.selectFrom("api_tokens").selectAll().where("secret_hash", "=", secretHash).executeTakeFirst();
}

/** The tokens, oldest first; only those that still work (see tokenState) unless `includeInactive`. */
export async function listTokens(db: Db, includeInactive: boolean, now: number): Promise<ApiTokenRow[]> {
  let query = db.selectFrom("api_tokens").selectAll().orderBy("create_time").orderBy("id");
  if (!includeInactive) {
    query = query.where("revoke_time", "is", null)
      .where((eb) => eb.or([eb("expire_time", "is", null), eb("expire_time", ">", now)]));
  }
  return await query.execute();
}

/** Revokes a token from the next request on; revoking it again changes nothing. */
export function revokeToken(db: Db, id: string, now: number): Promise<ApiTokenRow> {
  return inTransaction(db, async (tx) => {
    const row = await tx.selectFrom("api_tokens").selectAll().where("id", "=", id).executeTakeFirst();
    if (!row) throw notFound(`token "${id}" does not exist; ListTokens shows the tokens`);
    if (row.revoke_time !== null) return row;
    return await tx.updateTable("api_tokens").set({ revoke_time: now }).where("id", "=", id)
      .returningAll().executeTakeFirstOrThrow();
  });
}
