import { Code, ConnectError } from "@connectrpc/connect";

// How the launcher reads a failed call. Each predicate is one rule of the
// protocol; anything not named here is treated as transient and retried.

/** The fencing token is stale: the attempt was re-offered, cancelled or timed out. */
export function isStaleToken(err: unknown): boolean {
  return err instanceof ConnectError && err.code === Code.FailedPrecondition;
}

/** The coordinator does not know the launcher (or the job): register again. */
export function isNotFound(err: unknown): boolean {
  return err instanceof ConnectError && err.code === Code.NotFound;
}

/**
 * The request itself is wrong and retrying it unchanged cannot help
 * (bad argument, refused credentials, unimplemented method).
 */
export function isPermanent(err: unknown): boolean {
  return err instanceof ConnectError && [
    Code.InvalidArgument,
    Code.Unauthenticated,
    Code.PermissionDenied,
    Code.Unimplemented,
    Code.OutOfRange,
  ].includes(err.code);
}

/** A short account of an error for a log line. */
export function describeError(err: unknown): string {
  if (err instanceof ConnectError) return `${Code[err.code]}: ${err.rawMessage}`;
  return err instanceof Error ? err.message : String(err);
}
