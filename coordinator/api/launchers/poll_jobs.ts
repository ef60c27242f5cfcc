import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { JobState, JobType } from "../../../gen/tether/v1/job_pb.ts";
import { LauncherState } from "../../../gen/tether/v1/launcher_pb.ts";
import {
  type PollJobsRequest,
  type PollJobsResponse,
  PollJobsResponseSchema,
} from "../../../gen/tether/v1/launcher_service_pb.ts";
import { Waiter } from "../../dispatch/dispatcher.ts";
import { checkCredential } from "../../auth/authenticate.ts";
import type { LauncherPrincipal } from "../../auth/principal.ts";
import type { Engine } from "../../dispatch/engine.ts";
import { invalidArgument } from "../../domain/errors.ts";
import { claimJobs } from "../../storage/claim_jobs.ts";
import { launcherSlots } from "../../storage/launchers.ts";
import { heldOffersAndCancels, jobsToStop, releaseOffers } from "../../storage/offers.ts";
import type { JobRow, LauncherRow } from "../../storage/db/rows.ts";
import { executorSessionIds } from "../../storage/sessions.ts";
import { inTransaction } from "../../storage/db/transaction.ts";
import { launcherTraits } from "../../storage/traits.ts";
import { offerToProto } from "../to_proto.ts";
import { checkRange, requireText } from "../validate.ts";

/**
 * The long poll, for the launcher the call's credential names. It answers at once when the launcher has offers or
 * commands waiting; otherwise it holds the request until a job or a command
 * arrives for it, or until the hold ends (the server's hold, cut short to
 * answer before the client's own deadline), then answers empty. A client
 * that goes away claims nothing: offers made for it go back to the queue.
 */
export async function pollJobs(
  engine: Engine,
  caller: LauncherPrincipal,
  req: PollJobsRequest,
  ctx: HandlerContext,
): Promise<PollJobsResponse> {
  const { launcherId } = caller;
  const pollId = requireText(req.pollId, "pollId", 128);
  const freeSlots = checkRange(req.freeSlots, "freeSlots", 0, 1000);
  if (req.cancellingJobIds.length > 1000) throw invalidArgument("cancellingJobIds may list at most 1000 jobs");
  const alreadyStopping = new Set(req.cancellingJobIds);
  const deadline = Date.now() + holdMs(engine, ctx);

  let launcher = await engine.launcher(launcherId);
  const waiter = new Waiter(launcherTraits(launcher), freeSlots > 0 && launcher.state === LauncherState.ONLINE);
  engine.dispatcher.add(waiter);
  try {
    // Read again once registered: a change to the launcher or a cancel from here on wakes the waiter.
    launcher = await engine.launcher(launcherId);
    checkCredential(launcher, caller.credentialHash);
    // Nothing changed for any job since this launcher last held nothing: no offer or cancel to look for.
    const heldAt = engine.jobChangeCount;
    const held = engine.mayHold(launcherId) ? await heldOffersAndCancels(engine.db, launcherId) : [];
    if (held.length === 0) engine.holdsNothing(launcherId, heldAt);
    const retried = held.filter((j) => j.state === JobState.OFFERED && j.offer_poll_id === pollId);
    if (retried.length > 0) return await answer(engine, retried, [], launcher, req.draining);
    let stopping = held.filter((j) => j.state === JobState.CANCELLING).map((j) => j.id);
    for (;;) {
      const wokenFor = waiter.beginRound();
      if (waiter.takeCommandsWoken()) {
        launcher = await engine.launcher(launcherId);
        try {
          checkCredential(launcher, caller.credentialHash);
        } catch (error) {
          // A registration since the call began took the launcher over: this instance gets nothing more,
          // and the jobs this round was woken for go to the next waiter.
          passOn(engine, wokenFor, []);
          throw error;
        }
        stopping = await jobsToStop(engine.db, launcherId);
      }
      const cancels = stopping.filter((id) => !alreadyStopping.has(id));
      const takesJobs = launcher.state === LauncherState.ONLINE;
      const limit = takesJobs ? Math.min(freeSlots, launcherSlots(launcher, engine.now())) : 0;
      // Nothing became claimable since this launcher's last claim found nothing more: skip the claim.
      const changesAt = engine.jobChangeCount;
      const offers = wokenFor.size > 0 || engine.mayClaim(launcherId)
        ? await claimJobs(engine.db, {
          launcher,
          pollId,
          limit,
          acceptTimeoutMs: engine.config.acceptTimeoutMs,
          credentialHash: caller.credentialHash,
        }, engine.now())
        : [];
      if (limit > 0 && offers.length < limit) engine.claimedAll(launcherId, changesAt);
      // (Another poll of the same launcher between the claim's commit and this line could still miss the
      // offers: only a client polling twice at once would, and the offers then expire back to the queue.)
      if (offers.length > 0) engine.offered();
      if (ctx.signal.aborted) {
        const released = await inTransaction(engine.db, (tx) => releaseOffers(tx, offers, engine.now()), { durable: false });
        await engine.publish({ jobs: released, launchers: [] });
        throw new ConnectError("the client went away; nothing was claimed for it", Code.Canceled);
      }
      // A claim that found less than it could take leaves nothing claimable that this launcher matches:
      // the jobs it was woken for and did not get were taken by another poll, or wait for a concurrency
      // slot or a session turn, whose release offers them again. Passing them on would only have every
      // other waiter claim in vain, one after another.
      if (offers.length === limit) passOn(engine, wokenFor, offers);
      for (const offer of offers) engine.timer.arm(offer.deadline_at!);
      const commands = cancels.length > 0 || isGone(launcher) ||
        (launcher.state === LauncherState.DRAINING && !req.draining);
      if (offers.length > 0 || commands) return await answer(engine, offers, cancels, launcher, req.draining);
      if (waiter.woken) continue;
      const why = await waiter.wait(deadline, ctx.signal);
      if (why === "aborted") throw new ConnectError("the client went away; nothing was claimed for it", Code.Canceled);
      if (why !== "woken") return create(PollJobsResponseSchema, {});
    }
  } finally {
    engine.dispatcher.remove(waiter);
    // Wake-ups that came after the last claim are for jobs this poll will not take.
    passOn(engine, waiter.beginRound(), []);
  }
}

/** How long to hold: the server's hold, but answered a margin before the client's deadline. */
function holdMs(engine: Engine, ctx: HandlerContext): number {
  const { pollHoldMs, pollDeadlineMarginMs } = engine.config;
  const clientMs = ctx.timeoutMs();
  if (clientMs === undefined) return pollHoldMs;
  const margin = Math.min(pollDeadlineMarginMs, clientMs / 10);
  return Math.max(0, Math.min(pollHoldMs, clientMs - margin));
}

/** Jobs a waiter was woken for but did not claim go to the next eligible waiter. */
function passOn(engine: Engine, wokenFor: ReturnType<Waiter["beginRound"]>, offers: readonly JobRow[]): void {
  const claimed = new Set(offers.map((o) => o.id));
  const left = [...wokenFor].filter(([id]) => !claimed.has(id));
  if (left.length === 0) return;
  engine.dispatcher.offer(
    new Map(left.map(([id, w]) => [id, w.requirements])),
    new Map(left.map(([id, w]) => [id, w.tried])),
  );
}

async function answer(
  engine: Engine,
  offers: readonly JobRow[],
  cancels: string[],
  launcher: LauncherRow,
  knowsDraining: boolean,
): Promise<PollJobsResponse> {
  const resumed = offers.filter((o) => o.type === JobType.RESUME_SESSION).map((o) => o.session_id!);
  const executorSessions = await executorSessionIds(engine.db, resumed);
  return create(PollJobsResponseSchema, {
    offers: offers.map((o) =>
      offerToProto(o, engine.fencing.issue(o.id, o.epoch), executorSessions.get(o.session_id ?? "") ?? null)
    ),
    cancelJobIds: cancels,
    drain: launcher.state === LauncherState.DRAINING && !knowsDraining,
    deregistered: isGone(launcher),
  });
}

/** A launcher that lost its lease or was deregistered must register again. */
function isGone(launcher: LauncherRow): boolean {
  return launcher.state === LauncherState.OFFLINE || launcher.state === LauncherState.DEREGISTERED;
}
