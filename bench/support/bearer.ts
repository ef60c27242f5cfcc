import type { Interceptor } from "@connectrpc/connect";

/** Sends `token` as the bearer token of every call through a transport (a producer's client token, a registration token). */
export function bearer(token: string): Interceptor {
  const value = `Bearer ${token}`;
  return (next) => (req) => {
    req.header.set("Authorization", value);
    return next(req);
  };
}

/** The headers of one call sending `token`, built once per credential (a launcher's own, for its calls). */
export function authorization(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}
