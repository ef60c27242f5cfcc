import { resolvePath } from "../host/paths.ts";
import { boolean, ConfigError, envName, string } from "./config_fields.ts";

// How the launcher reaches the coordinator and proves who it is: the URL,
// the CA that signs the coordinator's certificate, where the token comes
// from. Pure, like config.ts, which calls it.

/** The coordinator-facing part of the launcher config. */
export interface CoordinatorAccess {
  /** The coordinator's base URL, without a trailing slash. */
  readonly coordinatorUrl: string;
  /** The coordinator's host:port, the launcher's only network permission. */
  readonly coordinatorAddress: string;
  /** A PEM file of the CA that signs the coordinator's certificate (https only), trusted besides the default roots. */
  readonly caFile?: string;
  /** Plain http to a host that is not this one was allowed explicitly. */
  readonly allowInsecureHttp: boolean;
  /** The environment variable holding the bearer token, if any. */
  readonly tokenEnv?: string;
  /** A file holding the bearer token (whitespace around it ignored), if any. */
  readonly tokenFile?: string;
}

/** The top-level fields this module reads. */
export const coordinatorAccessFields = ["coordinator", "caFile", "allowInsecureHttp", "tokenEnv", "tokenFile"] as const;

/**
 * Reads the coordinator's URL and the transport and token fields; relative
 * paths resolve against `baseDir`. Refuses plain http to a host other than
 * this one, where the token and job data would cross the network readable
 * by anyone on the path, unless `allowInsecureHttp` says so.
 */
export function parseCoordinatorAccess(
  root: Record<string, unknown>,
  at: (field: string) => string,
  baseDir: string,
): CoordinatorAccess {
  const coordinator = string(root.coordinator, at("coordinator"));
  let url: URL;
  try {
    url = new URL(coordinator);
  } catch {
    throw new ConfigError(`${at("coordinator")} must be a URL such as "http://127.0.0.1:7070"; got "${coordinator}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(`${at("coordinator")} must use http: or https:; got "${url.protocol}"`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new ConfigError(`${at("coordinator")} must not carry credentials, a query or a fragment`);
  }
  const port = url.port || (url.protocol === "https:" ? "443" : "80");

  const allowInsecureHttp = root.allowInsecureHttp === undefined
    ? false
    : boolean(root.allowInsecureHttp, at("allowInsecureHttp"));
  if (url.protocol === "http:" && !isLoopbackHostname(url.hostname) && !allowInsecureHttp) {
    throw new ConfigError(
      `${at("coordinator")} is plain http:// to "${url.hostname}", which is not this host (127.0.0.0/8, ::1, ` +
        `localhost): the launcher's token and its jobs would cross the network unencrypted. Use an https:// URL ` +
        `(with "caFile" when a private CA signs the coordinator's certificate), or set "allowInsecureHttp": true ` +
        `if the network path is protected some other way`,
    );
  }
  const caFile = root.caFile === undefined ? undefined : resolvePath(baseDir, string(root.caFile, at("caFile")));
  if (caFile !== undefined && url.protocol !== "https:") {
    throw new ConfigError(`${at("caFile")} applies to an https:// coordinator only; the coordinator is ${url.origin}`);
  }

  const tokenEnv = root.tokenEnv === undefined ? undefined : envName(root.tokenEnv, at("tokenEnv"));
  const tokenFile = root.tokenFile === undefined
    ? undefined
    : resolvePath(baseDir, string(root.tokenFile, at("tokenFile")));
  if (tokenEnv !== undefined && tokenFile !== undefined) {
    throw new ConfigError(`${at("tokenEnv")} and tokenFile both name the token; keep one of them`);
  }

  return {
    coordinatorUrl: `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}`,
    coordinatorAddress: `${url.hostname}:${port}`,
    caFile,
    allowInsecureHttp,
    tokenEnv,
    tokenFile,
  };
}

/** Whether a URL's hostname is this machine: localhost, 127.0.0.0/8 or [::1]. */
export function isLoopbackHostname(hostname: string): boolean {
  const name = hostname.toLowerCase();
  return name === "localhost" || name === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}
