import { FailureReason, JobState } from "../../gen/tether/v1/job_pb.ts";
import { heldStates } from "../domain/job_states.ts";
import { LauncherState } from "../../gen/tether/v1/launcher_pb.ts";
import { failedPrecondition, notFound, permissionDenied } from "../domain/errors.ts";
import { launcherId } from "../domain/ids.ts";
import { forUpdate } from "./db/dialect.ts";
import { endAttempt, type RetryPolicy } from "./end_attempt.ts";
import { releaseOffers } from "./offers.ts";
import type { Db } from "./db/open_database.ts";
import { tokenState } from "./api_tokens.ts";
import type { JobRow, LauncherRow } from "./db/rows.ts";
import { type Changes, inTransaction, type Tx } from "./db/transaction.ts";

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

/** Reads one launcher, or throws NOT_FOUND telling it to register. */
export async function loadLauncher(db: Db | Tx, id: string): Promise<LauncherRow> {
  const row = await db.selectFrom("launchers").selectAll().where("id", "=", id).executeTakeFirst();
  if (!row) throw notFound(`launcher "${id}" is not registered; call RegisterLauncher first`);
  return row;
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
): Promise<{ launcher: LauncherRow; changes: Changes; replaced: LauncherRow | null }> {
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
    return { launcher, changes: { jobs, launchers: [id] }, replaced };
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

/** The most jobs a launcher may be offered at `now`: its slots, less those an instance it took over may still fill. */
export function launcherSlots(launcher: LauncherRow, now: number): number {
  const reserved = launcher.reserved_until !== null && now < launcher.reserved_until ? launcher.reserved_slots : 0;
  return Math.max(0, launcher.max_concurrency - reserved);
}

/** Whether a launcher's lease still runs: its process may be alive. */
function isLive(launcher: LauncherRow, now: number): boolean {
  return (launcher.state === LauncherState.ONLINE || launcher.state === LauncherState.DRAINING) &&
    launcher.lease_expires_at > now;
}

/**
 * Takes every job away from a launcher that is gone: offers go back to the
 * queue, running attempts end LAUNCHER_LOST (and are retried per policy).
 */
export async function endLauncherJobs(
  tx: Tx,
  id: string,
  why: string,
  policy: RetryPolicy & { retryNotBefore?: number },
  now: number,
): Promise<JobRow[]> {
  const held = await forUpdate(
    tx,
    tx.selectFrom("jobs").selectAll().where("launcher_id", "=", id)
      .where("state", "in", heldStates),
  ).execute();
  const changed = await releaseOffers(tx, held.filter((j) => j.state === JobState.OFFERED), now, {
    reason: FailureReason.LAUNCHER_LOST,
    error: `${why} before it accepted the offer`,
  });
  for (const job of held.filter((j) => j.state !== JobState.OFFERED)) {
    changed.push(await endAttempt(tx, job, {
      state: JobState.FAILED,
      reason: FailureReason.LAUNCHER_LOST,
      error: `${why} during attempt ${job.attempt}`,
      exitCode: null,
      result: null,
      executorSessionId: null,
    }, { ...policy, now, revoke: true }));
  }
  return changed;
}

/** Marks launchers whose lease lapsed OFFLINE and takes their jobs away. */
export function lapseLaunchers(db: Db, policy: RetryPolicy, now: number): Promise<Changes> {
  return inTransaction(db, async (tx) => {
    const lapsed = await tx.updateTable("launchers").set({ state: LauncherState.OFFLINE, update_time: now })
      .where("state", "in", [LauncherState.ONLINE, LauncherState.DRAINING]).where("lease_expires_at", "<=", now)
      .returning("id").execute();
    const jobs: JobRow[] = [];
    for (const { id } of lapsed) {
      jobs.push(...await endLauncherJobs(tx, id, `launcher "${id}" lost its lease`, policy, now));
    }
    return { jobs, launchers: lapsed.map((l) => l.id) };
  });
}

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
): Promise<{ launcher: LauncherRow; changes: Changes }> {
  return inTransaction(db, async (tx) => {
    await loadLauncher(tx, id);
    const jobs = await endLauncherJobs(tx, id, `launcher "${id}" was deregistered`, policy, now);
    const launcher = await tx.updateTable("launchers").set({
      state: LauncherState.DEREGISTERED,
      update_time: now,
      ...(options.removed ? { registered_by: null } : {}),
    }).where("id", "=", id).returningAll().executeTakeFirstOrThrow();
    return { launcher, changes: { jobs, launchers: [id] } };
  });
}

/** Drains a live launcher: it keeps its jobs and takes no new ones. */
export function drainLauncher(db: Db, id: string, now: number): Promise<LauncherRow> {
  return inTransaction(db, async (tx) => {
    const launcher = await loadLauncher(tx, id);
    if (launcher.state === LauncherState.DRAINING) return launcher;
    if (launcher.state !== LauncherState.ONLINE) {
      throw failedPrecondition(
        `launcher "${id}" is ${LauncherState[launcher.state]}; only an online launcher can be drained`,
      );
    }
    return await tx.updateTable("launchers").set({ state: LauncherState.DRAINING, update_time: now })
      .where("id", "=", id).where("state", "=", LauncherState.ONLINE).returningAll().executeTakeFirst() ??
      await loadLauncher(tx, id);
  });
}

/**
 * Gives every live lease and outstanding offer at least one full period
 * from now. Called at start: time the coordinator was down must not count
 * against launchers, which could not reach it.
 */
export async function extendLeasesAndOffers(
  db: Db,
  periods: { leaseMs: number; acceptTimeoutMs: number },
  now: number,
): Promise<void> {
  await db.updateTable("launchers").set({ lease_expires_at: now + periods.leaseMs })
    .where("state", "in", [LauncherState.ONLINE, LauncherState.DRAINING])
    .where("lease_expires_at", "<", now + periods.leaseMs).execute();
  await db.updateTable("jobs").set({ deadline_at: now + periods.acceptTimeoutMs })
    .where("state", "=", JobState.OFFERED).where("deadline_at", "<", now + periods.acceptTimeoutMs).execute();
}
