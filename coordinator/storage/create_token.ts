import type { TokenRole } from "../../gen/tether/v1/token_pb.ts";
import { alreadyExists } from "../domain/errors.ts";
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
