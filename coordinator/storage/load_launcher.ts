import { notFound } from "../domain/errors.ts";
import type { Db } from "./db/open_database.ts";
import type { LauncherRow } from "./db/rows.ts";
import type { Tx } from "./db/transaction.ts";

/** Reads one launcher, or throws NOT_FOUND telling it to register. */
export async function loadLauncher(db: Db | Tx, id: string): Promise<LauncherRow> {
  const row = await db.selectFrom("launchers").selectAll().where("id", "=", id).executeTakeFirst();
  if (!row) throw notFound(`launcher "${id}" is not registered; call RegisterLauncher first`);
  return row;
}
