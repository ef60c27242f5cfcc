import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { errorText, type Logger } from "../log.ts";
import { storageError } from "../storage/db/storage_errors.ts";

/**
 * The error a caller gets for a failure: a deliberate Connect error as it
 * is; a storage failure as one it can act on (RESOURCE_EXHAUSTED when the
 * disk is full, UNAVAILABLE when it cannot be written); anything else as
 * INTERNAL. Every failure that is not a deliberate Connect error is logged,
 * with `where` it happened: those are the storage's trouble, or bugs.
 */
export function callerError(error: unknown, log: Logger, where: Record<string, unknown>): ConnectError {
  if (error instanceof ConnectError) return error;
  const translated = storageError(error);
  log.error(translated ? "storage failure" : "unexpected failure", {
    ...where,
    error: errorText(error),
    ...(translated ? {} : { stack: error instanceof Error ? error.stack : undefined }),
  });
  return translated ?? new ConnectError("internal error", Code.Internal);
}

/** callerError for every Connect RPC. */
export function errorInterceptor(log: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (error) {
      throw callerError(error, log, { procedure: req.method.name });
    }
  };
}
