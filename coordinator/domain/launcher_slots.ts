import { LauncherState } from "../../gen/tether/v1/launcher_pb.ts";
import type { LauncherRow } from "../storage/db/rows.ts";

/** The most jobs a launcher may be offered at `now`: its slots, less those an instance it took over may still fill. */
export function launcherSlots(launcher: LauncherRow, now: number): number {
  const reserved = launcher.reserved_until !== null && now < launcher.reserved_until ? launcher.reserved_slots : 0;
  return Math.max(0, launcher.max_concurrency - reserved);
}

/** Whether a launcher's lease still runs: its process may be alive. */
export function isLive(launcher: LauncherRow, now: number): boolean {
  return isRegistered(launcher.state) && launcher.lease_expires_at > now;
}

/** Whether a launcher in this state holds a lease (online or draining); else it must register again. */
export function isRegistered(state: LauncherState): boolean {
  return state === LauncherState.ONLINE || state === LauncherState.DRAINING;
}

/** The launcher states that hold a lease, for queries. */
export const registeredStates: readonly LauncherState[] = [LauncherState.ONLINE, LauncherState.DRAINING];
