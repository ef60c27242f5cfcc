import { notFound } from "../domain/errors.ts";
import type { Db } from "./db/open_database.ts";
import type { SessionRow } from "./db/rows.ts";

export async function loadSession(db: Db, id: string): Promise<SessionRow> {
  const row = await db.selectFrom("sessions").selectAll().where("id", "=", id).executeTakeFirst();
  if (!row) throw notFound(`session "${id}" not found`);
  return row;
}
