import { JobState } from "../../gen/tether/v1/job_pb.ts";
import { LauncherState } from "../../gen/tether/v1/launcher_pb.ts";
import { permissionDenied } from "../domain/errors.ts";
import { launcherId } from "../domain/ids.ts";
import { isLive } from "../domain/launcher_slots.ts";
import type { RetryPolicy } from "../domain/retry.ts";
import { tokenState } from "../domain/token_state.ts";
import { type Written, written } from "./changes.ts";
import { forUpdate } from "./db/dialect.ts";
import type { Db } from "./db/open_database.ts";
import type { LauncherRow } from "./db/rows.ts";
import { inTransaction, type Tx } from "./db/transaction.ts";
import { endLauncherJobs } from "./end_launcher_jobs.ts";

export interface LauncherRegistration {
  name: string;
  hostname: string;
  labels: Record<string, string>;
  executors: string[];
  maxConcurrency: number;
  version: string;
  instanceId: string;
  /** The SHA-256 of the credential this registration returns. */
  credentialHash: string;
  /** The token the registration came with, and whether it is an admin's. */
  by: { tokenId: string; admin: boolean };
}

/**
 * Records a launcher under its stable id, starts its lease and stores the
 * hash of its new credential, which replaces the old one at once. A new
 * instance under the same id takes over: the old one's offers go back to
 * the queue and its attempts end LAUNCHER_LOST, retried only once the old
 * lease would have lapsed, since the old process may be running them until
 * its next call is refused; until then the new instance is offered no more
 * than the slots those attempts leave free (see launcherSlots). The same
 * instance registering again keeps its jobs. `committed` runs the moment the
 * new credential is committed.
 */
export function registerLauncher(
  db: Db,
  r: LauncherRegistration,
  policy: RetryPolicy & { leaseMs: number },
  now: number,
  committed?: () => void,
): Promise<Written<{ launcher: LauncherRow; replaced: LauncherRow | null }>> {
  return inTransaction(db, async (tx) => {
    const id = launcherId(r.hostname, r.name);
    const old = await forUpdate(tx, tx.selectFrom("launchers").selectAll().where("id", "=", id)).executeTakeFirst();
    if (old) await checkRegistrar(tx, old, r.by, now);
    const sameInstance = old?.instance_id === r.instanceId;
    const replaced = old && !sameInstance && isLive(old, now) ? old : null;
    const jobs = old && !sameInstance
      ? await endLauncherJobs(tx, id, `launcher "${id}" was taken over by instance "${r.instanceId}"`, {
        ...policy,
        retryNotBefore: replaced?.lease_expires_at,
      }, now)
      : [];
    const values = {
      name: r.name,
      hostname: r.hostname,
      labels: JSON.stringify(r.labels),
      executors: JSON.stringify(r.executors),
      max_concurrency: r.maxConcurrency,
      version: r.version,
      state: sameInstance && old?.state === LauncherState.DRAINING ? LauncherState.DRAINING : LauncherState.ONLINE,
      instance_id: r.instanceId,
      register_time: now,
      lease_expires_at: now + policy.leaseMs,
      update_time: now,
      credential_hash: r.credentialHash,
      previous_credential_hash: old?.credential_hash ?? "",
      registered_by: r.by.tokenId,
      // The old instance's attempts, ended here, may run on until it hears: they keep their slots meanwhile.
      reserved_slots: replaced ? jobs.filter((j) => j.state !== JobState.QUEUED).length : 0,
      reserved_until: replaced?.lease_expires_at ?? null,
    };
    const launcher = await tx.insertInto("launchers").values({ id, ...values })
      .onConflict((oc) => oc.column("id").doUpdateSet(values)).returningAll().executeTakeFirstOrThrow();
    return written({ launcher, replaced }, { jobs, launchers: [id], leases: [launcher.lease_expires_at] });
  }, { committed: () => committed?.() });
}

/**
 * A launcher identity belongs to the registration token that registered it:
 * another token may take it over only once that one no longer works or an
 * operator removed the launcher (which forgets the token), or when it is an
 * admin's. Otherwise any host with any registration token could take over
 * any other host's launcher, its sessions and the resumes routed to them.
 */
async function checkRegistrar(tx: Tx, old: LauncherRow, by: LauncherRegistration["by"], now: number): Promise<void> {
  if (by.admin || old.registered_by === null || old.registered_by === by.tokenId) return;
  const owner = await tx.selectFrom("api_tokens").selectAll().where("id", "=", old.registered_by).executeTakeFirst();
  if (!owner || tokenState(owner, now) !== "active") return;
  throw permissionDenied(
    `launcher "${old.id}" (${old.name} on ${old.hostname}) was registered with another registration token; ` +
      "register under another name, or have an admin remove it (OperatorService.RemoveLauncher) or revoke that token",
  );
}
