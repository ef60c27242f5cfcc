import type { Db } from "./db/open_database.ts";
import type { ApiTokenRow } from "./db/rows.ts";

/** The tokens, oldest first; only those that still work (see tokenState) unless `includeInactive`. */
export async function listTokens(db: Db, includeInactive: boolean, now: number): Promise<ApiTokenRow[]> {
  let query = db.selectFrom("api_tokens").selectAll().orderBy("create_time").orderBy("id");
  if (!includeInactive) {
    query = query.where("revoke_time", "is", null)
      .where((eb) => eb.or([eb("expire_time", "is", null), eb("expire_time", ">", now)]));
  }
  return await query.execute();
}
