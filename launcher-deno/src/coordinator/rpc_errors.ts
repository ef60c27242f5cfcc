import { Code, ConnectError } from "@connectrpc/connect";

// How the launcher reads a failed call. Each predicate is one rule of the
// protocol; anything not named here is treated as transient and retried.

/**
 * The attempt is no longer this launcher's: its fencing token is stale (the
 * attempt was re-offered, cancelled or timed out), or the job is held by
 * another launcher now (PERMISSION_DENIED).
 */
export function isStaleToken(err: unknown): boolean {
  return err instanceof ConnectError && (err.code === Code.FailedPrecondition || err.code === Code.PermissionDenied);
}

/**
 * The call's credential was refused. For RegisterLauncher that is final (a
 * wrong registration token); for other calls LauncherCredentials decides,
 * and a call that raced a new registration is simply retried.
 */
export function isUnauthenticated(err: unknown): boolean {
  return err instanceof ConnectError && err.code === Code.Unauthenticated;
}

/** The coordinator does not know the launcher (or the job): register again. */
export function isNotFound(err: unknown): boolean {
  return err instanceof ConnectError && err.code === Code.NotFound;
}

/**
 * The request itself is wrong and retrying it unchanged cannot help (bad
 * argument, a role that may not make the call, unimplemented method).
 */
export function isPermanent(err: unknown): boolean {
  return err instanceof ConnectError && [
    Code.InvalidArgument,
    Code.PermissionDenied,
    Code.Unimplemented,
    Code.OutOfRange,
  ].includes(err.code);
}

/** A short account of an error for a log line. */
export function describeError(err: unknown): string {
  const text = err instanceof ConnectError
    ? `${Code[err.code]}: ${err.rawMessage}`
    : err instanceof Error
    ? err.message
    : String(err);
  // fetch says only "fetch failed"; why (a refused connection, an untrusted certificate) is in its causes.
  const causes: string[] = [];
  for (let cause = (err as Error)?.cause; cause instanceof Error && causes.length < 3; cause = cause.cause) {
    if (!text.includes(cause.message)) causes.push(cause.message);
  }
  return causes.length === 0 ? text : `${text} (${causes.join(": ")})`;
}
