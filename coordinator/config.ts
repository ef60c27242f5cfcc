import { parseArgs } from "node:util";
import { type HostName, isLoopbackHost, parseHostName } from "./http/host_check.ts";

/** The coordinator's settings, compiled once into milliseconds and frozen. */
export interface CoordinatorConfig {
  readonly host: string;
  readonly port: number;
  /** A SQLite file path (the default) or, later, a postgres:// URL. */
  readonly db: string;
  /** A cap on the database's size in bytes (null: none); writes past it fail RESOURCE_EXHAUSTED. */
  readonly dbMaxBytes: number | null;
  /** New jobs and events are refused while the disk has less free (null: the smaller of 1 GiB and 5% of it). */
  readonly minFreeDiskBytes: number | null;
  /** The longest a PollJobs request is held before it is answered empty. */
  readonly pollHoldMs: number;
  /** Subtracted from a client's Connect-Timeout-Ms so it gets its answer in time. */
  readonly pollDeadlineMarginMs: number;
  /** How long an offer waits for AcceptJob before it goes back to the queue. */
  readonly acceptTimeoutMs: number;
  /** How often launchers are told to heartbeat. */
  readonly heartbeatIntervalMs: number;
  /** How long a launcher's liveness lease lasts after each heartbeat. */
  readonly leaseMs: number;
  /** How long a job may wait while no live launcher matches it, by default. */
  readonly matchTimeoutMs: number;
  /** The first retry backoff; it doubles per attempt up to retryBackoffMaxMs. */
  readonly retryBackoffMs: number;
  readonly retryBackoffMaxMs: number;
  /** The bytes of events stored per job before a truncation marker. */
  readonly maxJobEventBytes: number;
  /** The largest request body accepted. */
  readonly readMaxBytes: number;
  /** The bytes of request bodies held at once, across all requests; past it a request is refused. */
  readonly maxBodyMemory: number;
  /** Entries (object keys and array elements, at any depth) one request may hold; see api/entry_count.ts. */
  readonly maxRequestEntries: number;
  /** A connection must send a request's complete headers within this, from its start or its previous request. */
  readonly headersTimeoutMs: number;
  /** A request's body must arrive within this after its headers. */
  readonly requestTimeoutMs: number;
  /** A connection that carries no request for this long is closed. */
  readonly idleTimeoutMs: number;
  /** Connections open at once, at most; more are closed as they arrive. */
  readonly maxConnections: number;
  /** Requests (HTTP/2 streams) one connection may carry at once. */
  readonly maxStreamsPerConnection: number;
  /** An answer (a watch's included) whose reader takes nothing for this long is cut off. */
  readonly stallTimeoutMs: number;
  /** A watch quiet for this long sends a keepalive message. */
  readonly watchKeepaliveMs: number;
  /** Finished jobs, their events and the sessions no job needs are deleted this long after; 0 keeps them. */
  readonly retentionMs: number;
  /** Launchers offline or deregistered this long are deleted; 0 keeps them. */
  readonly launcherRetentionMs: number;
  /** PEM files of the certificate chain and its key (both or neither): with them the port speaks TLS only. */
  readonly tlsCertPath: string | null;
  readonly tlsKeyPath: string | null;
  /** A TLS-terminating proxy is in front, so plain HTTP may listen on a non-loopback address. */
  readonly behindTlsProxy: boolean;
  /** Host names (a null port: any port) requests may use besides loopback names and the listen address. */
  readonly allowedHosts: readonly HostName[];
}

export const defaults: CoordinatorConfig = Object.freeze({
  host: "127.0.0.1",
  port: 7070,
  db: "./data/tether.db",
  dbMaxBytes: null,
  minFreeDiskBytes: null,
  pollHoldMs: 30_000,
  pollDeadlineMarginMs: 1_000,
  acceptTimeoutMs: 15_000,
  heartbeatIntervalMs: 5_000,
  leaseMs: 20_000,
  matchTimeoutMs: 300_000,
  retryBackoffMs: 1_000,
  retryBackoffMaxMs: 300_000,
  maxJobEventBytes: 16 * 1024 * 1024,
  readMaxBytes: 4 * 1024 * 1024,
  maxRequestEntries: 5_000,
  maxBodyMemory: 128 * 1024 * 1024,
  // A request's headers are small and come at once; 20 s leaves room for a slow link, not for a slowloris.
  headersTimeoutMs: 20_000,
  // 4 MiB (the largest body) in 60 s is 70 KB/s.
  requestTimeoutMs: 60_000,
  // Longer than the 60 s idle timeout of common load balancers, so that they close first.
  idleTimeoutMs: 65_000,
  // Well past 2,000 held polls (one connection each over HTTP/1.1), well under a raised file limit.
  maxConnections: 10_000,
  maxStreamsPerConnection: 256,
  // A reader that takes nothing for a minute is gone or stuck; it may resume from the offset it reached.
  stallTimeoutMs: 60_000,
  watchKeepaliveMs: 30_000,
  // A month of history to look back on and resume sessions from, and a database that stops growing.
  retentionMs: 30 * 86_400_000,
  // A host that is gone for a week is gone; a launcher that comes back registers again.
  launcherRetentionMs: 7 * 86_400_000,
  tlsCertPath: null,
  tlsKeyPath: null,
  behindTlsProxy: false,
  allowedHosts: Object.freeze([]),
});

/** Each setting: its flag, its environment variable, how to parse it. */
const settings = {
  listen: { env: "TETHER_LISTEN", help: "host:port to listen on (HTTP/1.1 and HTTP/2)" },
  db: { env: "TETHER_DB", help: "SQLite database file" },
  "db-max-bytes": { env: "TETHER_DB_MAX_BYTES", help: "cap on the database's size (default: none)" },
  "min-free-disk": { env: "TETHER_MIN_FREE_DISK", help: "free disk kept: new jobs and events wait below it (0: off)" },
  "poll-hold": { env: "TETHER_POLL_HOLD", help: "longest hold of a PollJobs request" },
  "accept-timeout": { env: "TETHER_ACCEPT_TIMEOUT", help: "how long an offer waits for AcceptJob" },
  "heartbeat-interval": { env: "TETHER_HEARTBEAT_INTERVAL", help: "heartbeat period told to launchers" },
  lease: { env: "TETHER_LEASE", help: "launcher liveness lease" },
  "match-timeout": { env: "TETHER_MATCH_TIMEOUT", help: "default wait for a matching launcher" },
  "retry-backoff": { env: "TETHER_RETRY_BACKOFF", help: "first retry backoff (doubles per attempt)" },
  "retry-backoff-max": { env: "TETHER_RETRY_BACKOFF_MAX", help: "largest retry backoff" },
  "max-job-event-bytes": { env: "TETHER_MAX_JOB_EVENT_BYTES", help: "event bytes stored per job" },
  "read-max-bytes": { env: "TETHER_READ_MAX_BYTES", help: "largest request body" },
  "max-request-entries": { env: "TETHER_MAX_REQUEST_ENTRIES", help: "object keys and array elements per request" },
  "max-body-memory": { env: "TETHER_MAX_BODY_MEMORY", help: "bytes of request bodies held at once, in all" },
  "headers-timeout": { env: "TETHER_HEADERS_TIMEOUT", help: "time a connection has to send a request's headers" },
  "request-timeout": { env: "TETHER_REQUEST_TIMEOUT", help: "time a request has to send its body" },
  "idle-timeout": { env: "TETHER_IDLE_TIMEOUT", help: "idle keep-alive connections are closed after this" },
  "max-connections": { env: "TETHER_MAX_CONNECTIONS", help: "connections open at once, at most" },
  "max-streams": { env: "TETHER_MAX_STREAMS", help: "HTTP/2 streams (requests) at once per connection" },
  retention: { env: "TETHER_RETENTION", help: "finished jobs and their events are deleted after this (0: kept)" },
  "launcher-retention": { env: "TETHER_LAUNCHER_RETENTION", help: "launchers gone this long are deleted (0: kept)" },
  "stall-timeout": { env: "TETHER_STALL_TIMEOUT", help: "an answer whose reader takes nothing this long is cut off" },
  "watch-keepalive": { env: "TETHER_WATCH_KEEPALIVE", help: "a quiet watch sends a keepalive this often" },
  "tls-cert": { env: "TETHER_TLS_CERT", help: "PEM certificate chain: serve HTTPS (HTTP/1.1 and HTTP/2)" },
  "tls-key": { env: "TETHER_TLS_KEY", help: "PEM private key of --tls-cert" },
  "behind-tls-proxy": {
    env: "TETHER_BEHIND_TLS_PROXY",
    help: "a TLS-terminating proxy is in front: plain HTTP may listen off loopback",
    boolean: true,
  },
  "allowed-hosts": { env: "TETHER_ALLOWED_HOSTS", help: "comma list of names clients use (name or name:port)" },
} as const;

type SettingName = keyof typeof settings;

/** Usage text listing every flag, its variable and its default. */
export function usage(): string {
  const lines = [
    "Usage: npm run coordinator -- [flags]",
    "       npm run coordinator -- tokens <create|ensure|list|revoke> ...   (tokens --help)",
    "",
  ];
  for (const [name, s] of Object.entries(settings)) {
    lines.push(`  --${name.padEnd(22)} ${s.env.padEnd(28)} ${s.help}`);
  }
  return lines.join("\n");
}

/**
 * Compiles flags and environment into a frozen config. Flags win over the
 * environment, which wins over the defaults. Throws with a message that names
 * the bad setting.
 */
export function loadConfig(argv: string[], env: Record<string, string | undefined>): CoordinatorConfig {
  const options = Object.fromEntries(
    Object.entries(settings).map(([name, s]) => [name, { type: "boolean" in s ? "boolean" : "string" } as const]),
  );
  const { values } = parseArgs({ args: argv, options: { ...options, help: { type: "boolean" } }, strict: true });
  const flags = values as Record<string, string | boolean | undefined>;
  const raw = (name: SettingName): string | undefined =>
    (flags[name] as string | undefined) ?? env[settings[name].env];
  const duration = (name: SettingName, fallback: number, min = 0): number => {
    const text = raw(name);
    if (text === undefined) return fallback;
    const ms = parseDuration(text);
    if (ms === undefined || ms < min) {
      throw new Error(
        `--${name} (${settings[name].env}) must be a duration such as "30s", "1500ms" or "5m"` +
          (min > 0 ? ` of at least ${min}ms` : "") + `; got "${text}"`,
      );
    }
    return ms;
  };
  /** A whole number of at least `min`; `unit` names what it counts in the message ("bytes"). */
  const whole = (name: SettingName, fallback: number, min: number, unit = ""): number => {
    const text = raw(name);
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < min) {
      const what = unit === "" ? "a whole number" : `a whole number of ${unit}`;
      throw new Error(`--${name} (${settings[name].env}) must be ${what}, at least ${min}; got "${text}"`);
    }
    return n;
  };
  const bytes = (name: SettingName, fallback: number) => whole(name, fallback, 1024, "bytes");
  const count = (name: SettingName, fallback: number) => whole(name, fallback, 1);
  const flag = (name: SettingName): boolean => {
    if (flags[name] === true) return true;
    const text = env[settings[name].env];
    if (text === undefined || /^(|0|false|no)$/i.test(text)) return false;
    if (/^(1|true|yes)$/i.test(text)) return true;
    throw new Error(`${settings[name].env} must be 1 or 0 (true or false); got "${text}"`);
  };
  const { host, port } = parseListen(raw("listen") ?? `${defaults.host}:${defaults.port}`);
  const config: CoordinatorConfig = {
    host,
    port,
    db: raw("db") ?? defaults.db,
    dbMaxBytes: raw("db-max-bytes") === undefined ? null : bytes("db-max-bytes", 0),
    minFreeDiskBytes: raw("min-free-disk") === undefined ? null : whole("min-free-disk", 0, 0, "bytes"),
    pollHoldMs: duration("poll-hold", defaults.pollHoldMs, 100),
    pollDeadlineMarginMs: defaults.pollDeadlineMarginMs,
    acceptTimeoutMs: duration("accept-timeout", defaults.acceptTimeoutMs, 100),
    heartbeatIntervalMs: duration("heartbeat-interval", defaults.heartbeatIntervalMs, 50),
    leaseMs: duration("lease", defaults.leaseMs, 100),
    matchTimeoutMs: duration("match-timeout", defaults.matchTimeoutMs, 100),
    retryBackoffMs: duration("retry-backoff", defaults.retryBackoffMs),
    retryBackoffMaxMs: duration("retry-backoff-max", defaults.retryBackoffMaxMs),
    maxJobEventBytes: bytes("max-job-event-bytes", defaults.maxJobEventBytes),
    readMaxBytes: bytes("read-max-bytes", defaults.readMaxBytes),
    maxRequestEntries: whole("max-request-entries", defaults.maxRequestEntries, 1000),
    maxBodyMemory: bytes("max-body-memory", defaults.maxBodyMemory),
    headersTimeoutMs: duration("headers-timeout", defaults.headersTimeoutMs, 100),
    requestTimeoutMs: duration("request-timeout", defaults.requestTimeoutMs, 100),
    idleTimeoutMs: duration("idle-timeout", defaults.idleTimeoutMs, 100),
    maxConnections: count("max-connections", defaults.maxConnections),
    maxStreamsPerConnection: count("max-streams", defaults.maxStreamsPerConnection),
    stallTimeoutMs: duration("stall-timeout", defaults.stallTimeoutMs, 100),
    watchKeepaliveMs: duration("watch-keepalive", defaults.watchKeepaliveMs, 100),
    retentionMs: duration("retention", defaults.retentionMs),
    launcherRetentionMs: duration("launcher-retention", defaults.launcherRetentionMs),
    tlsCertPath: raw("tls-cert") ?? null,
    tlsKeyPath: raw("tls-key") ?? null,
    behindTlsProxy: flag("behind-tls-proxy"),
    allowedHosts: Object.freeze(parseAllowedHosts(raw("allowed-hosts") ?? "")),
  };
  if ((config.tlsCertPath === null) !== (config.tlsKeyPath === null)) {
    throw new Error("--tls-cert (TETHER_TLS_CERT) and --tls-key (TETHER_TLS_KEY) go together: give both or neither");
  }
  if (!isLoopbackHost(config.host) && config.tlsCertPath === null && !config.behindTlsProxy) {
    throw new Error(
      `--listen ${config.host} is not a loopback address, and plain HTTP there would carry tokens and job data ` +
        "in the clear: give a certificate with --tls-cert and --tls-key, or, when a TLS-terminating proxy is " +
        "in front, say so with --behind-tls-proxy (TETHER_BEHIND_TLS_PROXY=1)",
    );
  }
  if (config.leaseMs <= config.heartbeatIntervalMs) {
    throw new Error(
      `--lease (${config.leaseMs}ms) must be longer than --heartbeat-interval (${config.heartbeatIntervalMs}ms), ` +
        "or every launcher would lapse between heartbeats",
    );
  }
  return Object.freeze(config);
}

/** Parses "250ms", "30s", "5m", "1h", "30d" or a bare number of milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) return undefined;
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? "ms"]!;
  return Math.round(Number(match[1]) * unit);
}

function parseAllowedHosts(text: string): HostName[] {
  return text.split(",").filter((item) => item.trim() !== "").map((item) => {
    const host = parseHostName(item);
    if (!host) {
      throw new Error(
        `--allowed-hosts (TETHER_ALLOWED_HOSTS) takes host names, each "name" or "name:port" ` +
          `(such as tether.example.com,10.0.0.5:7070), not URLs; got "${item.trim()}"`,
      );
    }
    return Object.freeze(host);
  });
}

function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || !(port >= 0 && port <= 65535)) {
    throw new Error(`--listen (TETHER_LISTEN) must be host:port, such as 127.0.0.1:7070 or [::1]:7070; got "${text}"`);
  }
  return { host: match[1] ?? match[2]!, port };
}
