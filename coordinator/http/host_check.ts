import { Code, ConnectError } from "@connectrpc/connect";
import type { connectNodeAdapter } from "@connectrpc/connect-node";
import { writeRefusal } from "./refusal_response.ts";

type NodeHandlerFn = ReturnType<typeof connectNodeAdapter>;

// Which Host and Origin a request may carry. A browser page on any site can
// make its own name resolve to 127.0.0.1 (DNS rebinding) and then call the
// coordinator; the Host it sends is still that site's name, so a request
// whose Host is not a name of this coordinator is refused before any handler
// runs. Browser requests also carry an Origin, which must be the
// coordinator's own: no CORS is offered, so no other page may call it.

/** A host name (lower case; IPv6 in brackets) and a port, null for "any" or "none given". */
export interface HostName {
  readonly name: string;
  readonly port: number | null;
}

export interface HostCheckOptions {
  /** From --allowed-hosts; a null port matches any port. */
  readonly allowedHosts: readonly HostName[];
  /** The --listen host, as configured. */
  readonly listenHost: string;
  /** The schemes browsers reach the coordinator with ("https" with TLS or behind a TLS proxy). */
  readonly schemes: readonly string[];
}

/** What the check reads of a request. */
export interface RequestFacts {
  /** Every Host given: HTTP/2's :authority and a host header. */
  readonly hosts: readonly string[];
  readonly origin: string | undefined;
  /** The address the connection arrived at. */
  readonly localAddress: string | undefined;
}

const loopbackNames = ["localhost", "127.0.0.1", "[::1]"];

/** Parses "name", "name:port", "1.2.3.4:80" or "[::1]:7070"; null when it is none of them. */
export function parseHostName(text: string): HostName | null {
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(?::(\d{1,5}))?$/i.exec(text.trim());
  if (!match) return null;
  const port = match[2] === undefined ? null : Number(match[2]);
  if (port !== null && port > 65535) return null;
  return { name: match[1]!.toLowerCase(), port };
}

/** Whether a --listen host or a hostname is this machine's loopback (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const bare = unbracket(host.toLowerCase()).replace(/^::ffff:/, "");
  return bare === "localhost" || bare === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

/** Whether a --listen host means every interface. */
export function isWildcardHost(host: string): boolean {
  return ["0.0.0.0", "::", "[::]"].includes(host);
}

/**
 * Why a request must be refused, as a message that says what to fix, or
 * null when its Host and Origin are this coordinator's.
 */
export function refusalOf(facts: RequestFacts, options: HostCheckOptions): string | null {
  if (facts.hosts.length === 0) {
    return "the request names no host (HTTP/1.1 Host or HTTP/2 :authority); send the name the coordinator is reached by";
  }
  const own = ownNames(facts, options);
  for (const text of facts.hosts) {
    const host = parseHostName(text);
    if (!host || !own.some((entry) => matches(entry, host))) {
      return `Host ${quote(text)} is not a name this coordinator answers to, so the request was refused ` +
        "(this stops DNS rebinding); if clients reach the coordinator by that name, " +
        "add it to --allowed-hosts (TETHER_ALLOWED_HOSTS)";
    }
  }
  if (facts.origin === undefined) return null;
  const origin = parseOrigin(facts.origin);
  const requestHost = parseHostName(facts.hosts[0]!)!;
  if (origin && options.schemes.includes(origin.scheme)) {
    const defaultPort = origin.scheme === "https" ? 443 : 80;
    const sameOrigin = origin.host.name === requestHost.name &&
      origin.host.port === (requestHost.port ?? defaultPort);
    if (sameOrigin || options.allowedHosts.some((entry) => matches(entry, origin.host))) return null;
  }
  return `Origin ${quote(facts.origin)} is not this coordinator's own origin, so the request was refused: ` +
    "browsers may call the coordinator only from its own origin (it offers no CORS); " +
    "if that origin's host is the coordinator's own name (a proxy in front rewrites Host), " +
    "add it to --allowed-hosts (TETHER_ALLOWED_HOSTS)";
}

/**
 * Wraps `handler` so that a request refused by refusalOf is answered
 * PERMISSION_DENIED, in the request's own protocol, and never reaches it.
 */
export function checkHosts(handler: NodeHandlerFn, options: HostCheckOptions, readMaxBytes: number): NodeHandlerFn {
  return (req, res) => {
    const hosts = [req.headers[":authority"], req.headers.host].filter((h): h is string => typeof h === "string");
    const refusal = refusalOf({
      hosts,
      origin: req.headers.origin,
      localAddress: req.socket.localAddress,
    }, options);
    if (refusal === null) return handler(req, res);
    writeRefusal(req, res, new ConnectError(refusal, Code.PermissionDenied), readMaxBytes);
  };
}

/**
 * The names a request may use: configured ones, loopback names, the listen
 * host, the address it arrived at. A page elsewhere can point its own name at
 * this host but cannot send any of these as its Host, whatever the port, so
 * their port is not checked: a proxy on this host passes on a Host with its own.
 */
function ownNames(facts: RequestFacts, options: HostCheckOptions): HostName[] {
  const own = isLoopbackHost(options.listenHost) || isWildcardHost(options.listenHost)
    ? [...loopbackNames]
    : [bracket(options.listenHost.toLowerCase())];
  if (facts.localAddress) own.push(bracket(facts.localAddress.replace(/^::ffff:(?=\d)/, "")));
  return [...options.allowedHosts, ...own.map((name) => ({ name, port: null }))];
}

/** An entry matches a host of the same name; a port on both sides must agree. */
function matches(entry: HostName, host: HostName): boolean {
  return entry.name === host.name && (entry.port === null || host.port === null || entry.port === host.port);
}

function parseOrigin(text: string): { scheme: string; host: HostName } | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null; // "null" (a sandboxed page or a file) and anything else that is no origin
  }
  const scheme = url.protocol.slice(0, -1);
  const port = url.port ? Number(url.port) : scheme === "https" ? 443 : 80;
  return { scheme, host: { name: url.hostname.toLowerCase(), port } };
}

function bracket(address: string): string {
  return address.includes(":") && !address.startsWith("[") ? `[${address}]` : address;
}

function unbracket(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}...` : text);
}
