/**
 * Where the coordinator agrees to listen: plain HTTP only on loopback,
 * unless a certificate is given or a TLS-terminating proxy is declared.
 * coordinator/main.ts runs as a real process here.
 */
import https from "node:https";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../coordinator/config.ts";
import {
  fastCoordinatorFlags,
  killCoordinatorProcesses,
  startCoordinatorProcess,
} from "../support/coordinator_process.ts";
import { spawnTsx } from "../../tools/support/tsx_process.ts";
import { makeTestCertificates } from "../support/tls_certificates.ts";

afterAll(() => killCoordinatorProcesses());

/** Runs coordinator/main.ts with `args` until it exits by itself. */
function runToExit(args: string[], env: Record<string, string> = {}) {
  const child = spawnTsx("coordinator/main.ts", args, { env: { ...process.env, ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => stdout += chunk);
  child.stderr!.on("data", (chunk) => stderr += chunk);
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((done) =>
    child.on("exit", (code) => done({ code, stdout, stderr }))
  );
}

describe("listening off loopback", () => {
  it("is refused without TLS, at start, with an error that names both fixes", async () => {
    const { code, stderr, stdout } = await runToExit(["--listen", "0.0.0.0:0", "--db", ":memory:"]);
    expect(code).toBe(2);
    expect(stderr).toContain("--listen 0.0.0.0 is not a loopback address");
    expect(stderr).toContain("--tls-cert and --tls-key");
    expect(stderr).toContain("--behind-tls-proxy (TETHER_BEHIND_TLS_PROXY=1)");
    expect(stdout).not.toContain('"listening"');
  });

  it("is allowed with --behind-tls-proxy, with one warning at start; loopback names still reach it", async () => {
    const coordinator = await startCoordinatorProcess({
      listen: "0.0.0.0:0",
      flags: [...fastCoordinatorFlags, "--behind-tls-proxy"],
    });
    try {
      expect(coordinator.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
      const warnings = coordinator.logs.lines.filter((line) => line.level === "warn" && /proxy/.test(String(line.msg)));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.msg).toContain("--behind-tls-proxy says a TLS-terminating proxy is in front");
      expect((await fetch(`http://127.0.0.1:${coordinator.port}/healthz`)).status).toBe(200);
    } finally {
      await coordinator.stop();
    }
  });
});

describe("a coordinator process with --tls-cert and --tls-key", () => {
  it("prints an https:// URL in its listening line and answers there to clients that trust the CA", async () => {
    const certs = await makeTestCertificates();
    const coordinator = await startCoordinatorProcess({
      flags: [...fastCoordinatorFlags, "--tls-cert", certs.certPath, "--tls-key", certs.keyPath],
    });
    try {
      expect(coordinator.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const status = await new Promise<number>((done, fail) => {
        https.get(`${coordinator.url}/healthz`, { ca: certs.caPem, agent: false }, (res) => {
          res.resume();
          done(res.statusCode!);
        }).on("error", fail);
      });
      expect(status).toBe(200);
    } finally {
      await coordinator.stop();
    }
  });

  it("stops at start, naming the flag, when a file cannot be read", async () => {
    const { code, stdout } = await runToExit([
      "--listen",
      "127.0.0.1:0",
      "--db",
      ":memory:",
      "--tls-cert",
      "/nonexistent/cert.pem",
      "--tls-key",
      "/nonexistent/key.pem",
    ]);
    expect(code).toBe(1);
    expect(stdout).toContain('cannot read --tls-cert \\"/nonexistent/cert.pem\\"');
  });
});

describe("the transport settings", () => {
  const load = (argv: string[], env: Record<string, string> = {}) => loadConfig(argv, env);

  it("take TLS files, the proxy flag and allowed hosts from flags or the environment", () => {
    expect(load(["--listen", "0.0.0.0:7070", "--tls-cert", "c.pem", "--tls-key", "k.pem"]))
      .toMatchObject({ host: "0.0.0.0", tlsCertPath: "c.pem", tlsKeyPath: "k.pem", behindTlsProxy: false });
    expect(load([], { TETHER_LISTEN: "[::]:7070", TETHER_BEHIND_TLS_PROXY: "1" }))
      .toMatchObject({ host: "::", behindTlsProxy: true });
    expect(load([], { TETHER_ALLOWED_HOSTS: " tether.example.com, 10.0.0.5:7070,[FD00::1]:8443 " }).allowedHosts)
      .toEqual([
        { name: "tether.example.com", port: null },
        { name: "10.0.0.5", port: 7070 },
        { name: "[fd00::1]", port: 8443 },
      ]);
    expect(load(["--listen", "localhost:7070"]).host).toBe("localhost");
    expect(load(["--listen", "[::1]:7070"]).host).toBe("::1");
  });

  it("refuse what cannot work, saying what to give instead", () => {
    expect(() => load(["--tls-cert", "c.pem"])).toThrow(
      "--tls-cert (TETHER_TLS_CERT) and --tls-key (TETHER_TLS_KEY) go together",
    );
    expect(() => load(["--allowed-hosts", "https://tether.example.com"])).toThrow(
      'not URLs; got "https://tether.example.com"',
    );
    expect(() => load([], { TETHER_BEHIND_TLS_PROXY: "maybe" })).toThrow("TETHER_BEHIND_TLS_PROXY must be 1 or 0");
    expect(() => load(["--listen", "10.0.0.5:7070"])).toThrow("--listen 10.0.0.5 is not a loopback address");
  });

  it("take the connection limits, with defaults a person would choose", () => {
    expect(load([])).toMatchObject({
      headersTimeoutMs: 20_000,
      requestTimeoutMs: 60_000,
      idleTimeoutMs: 65_000,
      maxConnections: 10_000,
      maxStreamsPerConnection: 256,
    });
    expect(load(["--headers-timeout", "5s", "--request-timeout", "2m", "--max-streams", "100"], {
      TETHER_IDLE_TIMEOUT: "30s",
      TETHER_MAX_CONNECTIONS: "500",
    })).toMatchObject({
      headersTimeoutMs: 5_000,
      requestTimeoutMs: 120_000,
      idleTimeoutMs: 30_000,
      maxConnections: 500,
      maxStreamsPerConnection: 100,
    });
    expect(() => load(["--max-connections", "0"])).toThrow('--max-connections (TETHER_MAX_CONNECTIONS) must be a whole number, at least 1; got "0"');
    expect(() => load(["--idle-timeout", "soon"])).toThrow("--idle-timeout");
  });
});
