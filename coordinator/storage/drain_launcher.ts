import { LauncherState } from "../../gen/tether/v1/launcher_pb.ts";
import { failedPrecondition } from "../domain/errors.ts";
import { type Written, written } from "./changes.ts";
import type { Db } from "./db/open_database.ts";
import type { LauncherRow } from "./db/rows.ts";
import { inTransaction } from "./db/transaction.ts";
import { loadLauncher } from "./load_launcher.ts";

/** Drains a live launcher: it keeps its jobs and takes no new ones. */
export function drainLauncher(db: Db, id: string, now: number): Promise<Written<LauncherRow>> {
  return inTransaction(db, async (tx) => {
    const launcher = await loadLauncher(tx, id);
    if (launcher.state === LauncherState.DRAINING) return written(launcher);
    if (launcher.state !== LauncherState.ONLINE) {
      throw failedPrecondition(
        `launcher "${id}" is ${LauncherState[launcher.state]}; only an online launcher can be drained`,
      );
    }
    const drained = await tx.updateTable("launchers").set({ state: LauncherState.DRAINING, update_time: now })
      .where("id", "=", id).where("state", "=", LauncherState.ONLINE).returningAll().executeTakeFirst() ??
      await loadLauncher(tx, id);
    return written(drained, { launchers: [id] });
  });
}
