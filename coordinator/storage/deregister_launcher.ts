import { LauncherState } from "../../gen/tether/v1/launcher_pb.ts";
import type { RetryPolicy } from "../domain/retry.ts";
import { type Written, written } from "./changes.ts";
import type { Db } from "./db/open_database.ts";
import type { LauncherRow } from "./db/rows.ts";
import { inTransaction } from "./db/transaction.ts";
import { endLauncherJobs } from "./end_launcher_jobs.ts";
import { loadLauncher } from "./load_launcher.ts";

/**
 * Deregisters a launcher: it takes no more work and its jobs are taken away.
 * `removed` (an operator's RemoveLauncher, not the launcher's own leaving)
 * also frees its identity for another registration token.
 */
export function deregisterLauncher(
  db: Db,
  id: string,
  policy: RetryPolicy,
  now: number,
  options: { removed: boolean },
): Promise<Written<LauncherRow>> {
  return inTransaction(db, async (tx) => {
    await loadLauncher(tx, id);
    const jobs = await endLauncherJobs(tx, id, `launcher "${id}" was deregistered`, policy, now);
    const launcher = await tx.updateTable("launchers").set({
      state: LauncherState.DEREGISTERED,
      update_time: now,
      ...(options.removed ? { registered_by: null } : {}),
    }).where("id", "=", id).returningAll().executeTakeFirstOrThrow();
    return written(launcher, { jobs, launchers: [id] });
  });
}
