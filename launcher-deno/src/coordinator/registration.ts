import type { RegisterLauncherRequest } from "../../../gen/tether/v1/launcher_service_pb.ts";
import { durationMs } from "../config/duration.ts";
import { backoffMs, delay } from "../delay.ts";
import type { Logger } from "../log.ts";
import type { LauncherClient } from "./coordinator_client.ts";
import { describeError, isPermanent, isUnauthenticated } from "./rpc_errors.ts";

/** The launcher's id, its credential and the timings the coordinator told it to keep, in ms. */
export interface Registration {
  readonly launcherId: string;
  /** Sent on every call but RegisterLauncher; a newer registration replaces it. */
  readonly credential: string;
  readonly heartbeatIntervalMs: number;
  readonly leaseMs: number;
  readonly pollHoldMs: number;
  readonly acceptTimeoutMs: number;
}

/** What RegisterLauncher is told. */
export type LauncherIdentity = Pick<
  RegisterLauncherRequest,
  "name" | "hostname" | "labels" | "executors" | "maxConcurrency" | "version" | "instanceId"
>;

/** Thrown when the coordinator refuses the registration itself; retrying cannot help. */
export class RegistrationRefusedError extends Error {
  override name = "RegistrationRefusedError";
}

/**
 * Registers, retrying unavailable coordinators with backoff and jitter for
 * as long as it takes. Rejects when `signal` aborts, or with
 * RegistrationRefusedError when the request is refused (a bad config or token).
 */
export async function register(
  client: LauncherClient,
  identity: LauncherIdentity,
  options: { signal: AbortSignal; log: Logger },
): Promise<Registration> {
  const { signal, log } = options;
  for (let failures = 1;; failures++) {
    try {
      const response = await client.registerLauncher(identity, { signal, timeoutMs: 15_000 });
      const registration: Registration = Object.freeze({
        launcherId: response.launcher?.id ?? "",
        credential: response.credential,
        heartbeatIntervalMs: durationMs(response.heartbeatInterval) ?? 5_000,
        leaseMs: durationMs(response.leaseDuration) ?? 20_000,
        pollHoldMs: durationMs(response.pollHold) ?? 30_000,
        acceptTimeoutMs: durationMs(response.acceptTimeout) ?? 15_000,
      });
      if (!registration.launcherId || !registration.credential) {
        throw new RegistrationRefusedError("RegisterLauncher answered without a launcher id or credential");
      }
      const { credential: _, ...shown } = registration;
      log.info("registered", {
        ...shown,
        name: identity.name,
        hostname: identity.hostname,
        instanceId: identity.instanceId,
      });
      return registration;
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if (err instanceof RegistrationRefusedError) throw err;
      if (isPermanent(err) || isUnauthenticated(err)) {
        throw new RegistrationRefusedError(`The coordinator refused to register this launcher: ${describeError(err)}`);
      }
      const waitMs = backoffMs(failures, { baseMs: 500, maxMs: 30_000 });
      log.warn("cannot register; retrying", { failures, retryInMs: waitMs, error: describeError(err) });
      await delay(waitMs, signal);
    }
  }
}
