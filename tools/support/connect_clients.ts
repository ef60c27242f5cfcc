import { type Client, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { JobService } from "../../gen/tether/v1/job_service_pb.ts";
import { LauncherService } from "../../gen/tether/v1/launcher_service_pb.ts";
import { OperatorService } from "../../gen/tether/v1/operator_service_pb.ts";
import { SessionService } from "../../gen/tether/v1/session_pb.ts";
import type { RoleTokens } from "./role_tokens.ts";

/** Sends `token` as the bearer token of every call through a transport (a client token, a registration token). */
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

/**
 * Connect JSON over HTTP/1.1 to `url`, as curl and the launcher speak it,
 * sending `token` as the bearer token of every call when one is given, and
 * trusting the certificate authority `ca` (PEM) when one is given.
 */
export function connectTransport(url: string, token?: string, ca?: string): Transport {
  return createConnectTransport({
    baseUrl: url,
    httpVersion: "1.1",
    interceptors: token === undefined ? [] : [bearer(token)],
    ...(ca === undefined ? {} : { nodeOptions: { ca } }),
  });
}

/** A JobService client for `url` sending `token` (a client token). */
export function jobClient(url: string, token: string): Client<typeof JobService> {
  return createClient(JobService, connectTransport(url, token));
}

/** Clients of a coordinator at `url`, each with the token of its role. */
export interface RoleClients {
  readonly tokens: RoleTokens;
  /** With the client token. */
  readonly jobs: Client<typeof JobService>;
  readonly sessions: Client<typeof SessionService>;
  /** With the admin token. */
  readonly operator: Client<typeof OperatorService>;
  /** A LauncherService client sending `token` (the registration token unless given). */
  launcherClient(token?: string): Client<typeof LauncherService>;
}

/** Clients speaking Connect JSON over HTTP/1.1 to `url`, as curl would, each with the token of its role. */
export function clientsFor(url: string, tokens: RoleTokens): RoleClients {
  const people = connectTransport(url, tokens.client);
  return {
    tokens,
    jobs: createClient(JobService, people),
    sessions: createClient(SessionService, people),
    operator: createClient(OperatorService, connectTransport(url, tokens.admin)),
    launcherClient: (token = tokens.registration) => createClient(LauncherService, connectTransport(url, token)),
  };
}
