import type { Db } from "./db/open_database.ts";

/** A key the coordinator keeps in its database (made by a migration), shared by every replica. */
export async function loadKey(db: Db, name: "fencing"): Promise<Buffer> {
  const row = await db.selectFrom("coordinator_keys").select("secret").where("name", "=", name).executeTakeFirst();
  if (!row) throw new Error(`the database has no "${name}" key; its migrations did not run`);
  return Buffer.from(row.secret, "base64url");
}
