import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { JobState, JobType } from "../../../gen/tether/v1/job_pb.ts";
import { LauncherState } from "../../../gen/tether/v1/launcher_pb.ts";
import {
  type PollJobsRequest,
  type PollJobsResponse,
  PollJobsResponseSchema,
} from "../../../gen/tether/v1/launcher_service_pb.ts";
import { checkCredential } from "../../auth/authenticate.ts";
import type { LauncherPrincipal } from "../../auth/principal.ts";
import { invalidArgument } from "../../domain/errors.ts";
import { launcherSlots } from "../../domain/launcher_slots.ts";
import type { Engine } from "../../dispatch/engine.ts";
import { Waiter } from "../../dispatch/waiter.ts";
import { claimJobs } from "../../storage/claim_jobs.ts";
import type { JobRow, LauncherRow } from "../../storage/db/rows.ts";
import { handBackOffers } from "../../storage/release_offers.ts";
import { heldOffersAndCancels, jobsToStop } from "../../storage/held_jobs.ts";
import { executorSessionIds } from "../../storage/executor_session_ids.ts";
import { launcherTraits } from "../../storage/traits.ts";
import { offerToProto } from "../to_proto.ts";
import { checkRange, requireText } from "../validate.ts";

const wentAway = "the client went away; nothing was claimed for it";

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
  const deadline = engine.now() + holdMs(engine, ctx);

  let launcher = await engine.launcher(launcherId);
  const takesJobs = freeSlots > 0 && launcher.state === LauncherState.ONLINE;
  const waiter = new Waiter(launcherTraits(launcher), takesJobs, engine.clock);
  engine.dispatcher.add(waiter);
  try {
    // Read again once registered: a change to the launcher or a cancel from here on wakes the waiter.
    launcher = await engine.launcher(launcherId);
    checkCredential(launcher, caller.credentialHash);
    const held = await engine.caches.held(launcherId, () => heldOffersAndCancels(engine.db, launcherId));
    const retried = held.filter((j) => j.state === JobState.OFFERED && j.offer_poll_id === pollId);
    if (retried.length > 0) return await answer(engine, retried, [], launcher, req.draining);
    let stopping = held.filter((j) => j.state === JobState.CANCELLING).map((j) => j.id);
    for (;;) {
      const round = waiter.beginRound();
      if (waiter.takeCommandsWoken()) {
        launcher = await engine.launcher(launcherId);
        try {
          checkCredential(launcher, caller.credentialHash);
        } catch (error) {
          // A registration since the call began took the launcher over: this instance gets nothing more,
          // and the jobs this round was handed go to the next waiter.
          engine.dispatcher.passOn(round, []);
          throw error;
        }
        stopping = await jobsToStop(engine.db, launcherId);
      }
      const cancels = stopping.filter((id) => !alreadyStopping.has(id));
      const online = launcher.state === LauncherState.ONLINE;
      const limit = online ? Math.min(freeSlots, launcherSlots(launcher, engine.now())) : 0;
      const { acceptTimeoutMs } = engine.config;
      const claim = { launcher, pollId, limit, acceptTimeoutMs, credentialHash: caller.credentialHash };
      const offers = await engine.caches.claim(launcherId, limit, round.size > 0, () =>
        engine.write(claimJobs(engine.db, claim, engine.now()))
      );
      // (Another poll of the same launcher between the claim's commit and this line could still miss the
      // offers: only a client polling twice at once would, and the offers then expire back to the queue.)
      if (ctx.signal.aborted) {
        await engine.write(handBackOffers(engine.db, offers, engine.now()));
        throw new ConnectError(wentAway, Code.Canceled);
      }
      // A claim that found less than it could take leaves nothing claimable that this launcher matches:
      // the jobs it was handed and did not get were taken by another poll, or wait for a concurrency
      // slot or a session turn, whose release offers them again. Passing them on would only have every
      // other waiter claim in vain, one after another.
      if (offers.length === limit) engine.dispatcher.passOn(round, offers);
      const commands = cancels.length > 0 || isGone(launcher) ||
        (launcher.state === LauncherState.DRAINING && !req.draining);
      if (offers.length > 0 || commands) return await answer(engine, offers, cancels, launcher, req.draining);
      if (waiter.woken) continue;
      const why = await waiter.wait(deadline, ctx.signal);
      if (why === "aborted") throw new ConnectError(wentAway, Code.Canceled);
      if (why !== "woken") return create(PollJobsResponseSchema, {});
    }
  } finally {
    engine.dispatcher.remove(waiter);
    // Jobs handed over after the last claim are for jobs this poll will not take.
    engine.dispatcher.passOn(waiter.beginRound(), []);
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
