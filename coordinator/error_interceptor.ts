import { ConnectError, type Interceptor } from "@connectrpc/connect";
import { errorText, type Logger } from "./log.ts";
import { storageError } from "./storage/storage_errors.ts";

/**
 * Turns storage failures into errors a caller can act on (RESOURCE_EXHAUSTED
 * when the disk is full, UNAVAILABLE when it cannot be written), and logs
 * every failure that is not a deliberate Connect error: those are bugs.
 */
export function errorInterceptor(log: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (error) {
      if (error instanceof ConnectError) throw error;
      const translated = storageError(error);
      log.error(translated ? "storage failure" : "unexpected failure", {
        procedure: req.method.name,
        error: errorText(error),
        ...(translated ? {} : { stack: error instanceof Error ? error.stack : undefined }),
      });
      throw translated ?? error;
    }
  };
}
