import { notFound } from "../domain/errors.ts";
import type { Db } from "./db/open_database.ts";
import type { ApiTokenRow } from "./db/rows.ts";
import { inTransaction } from "./db/transaction.ts";

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
