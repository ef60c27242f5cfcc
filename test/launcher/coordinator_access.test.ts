import { describe, expect, it } from "vitest";
import { parseLauncherConfig } from "../../launcher-deno/src/config/config.ts";
import { permissionFlags } from "../../launcher-deno/src/host/permissions.ts";
import { configRefusal } from "../support/launcher_fixtures.ts";

const path = "/etc/tether/launcher.json";

function parse(overrides: Record<string, unknown>) {
  const config = { name: "box", projectRoots: ["/srv/repos"], executors: { echo: { kind: "echo" } }, ...overrides };
  return parseLauncherConfig(JSON.stringify(config), path, { os: "linux" });
}

function refusal(overrides: Record<string, unknown>): string {
  return configRefusal(() => parse(overrides));
}

describe("how the launcher reaches the coordinator", () => {
  it.for(["http://127.0.0.1:7070", "http://127.8.9.10:7070", "http://localhost:7070", "http://[::1]:7070"])(
    "takes plain http to this host (%s)",
    (coordinator) => {
      expect(parse({ coordinator }).allowInsecureHttp).toBe(false);
    },
  );

  it("refuses plain http to another host, saying why and what to do instead", () => {
    const message = refusal({ coordinator: "http://10.0.0.5:7070" });
    expect(message).toBe(
      `${path}: coordinator is plain http:// to "10.0.0.5", which is not this host (127.0.0.0/8, ::1, localhost): ` +
        "the launcher's token and its jobs would cross the network unencrypted. Use an https:// URL " +
        '(with "caFile" when a private CA signs the coordinator\'s certificate), or set "allowInsecureHttp": true ' +
        "if the network path is protected some other way",
    );
    expect(refusal({ coordinator: "http://tether.example.com" })).toContain('plain http:// to "tether.example.com"');
  });

  it("takes plain http to another host when allowInsecureHttp says so, and https anywhere", () => {
    expect(parse({ coordinator: "http://10.0.0.5:7070", allowInsecureHttp: true }))
      .toMatchObject({ coordinatorAddress: "10.0.0.5:7070", allowInsecureHttp: true });
    expect(parse({ coordinator: "https://10.0.0.5:7070" }).coordinatorUrl).toBe("https://10.0.0.5:7070");
    expect(refusal({ coordinator: "http://10.0.0.5:7070", allowInsecureHttp: "yes" }))
      .toBe(`${path}: allowInsecureHttp must be true or false`);
  });

  it("resolves caFile and tokenFile against the config's folder", () => {
    expect(parse({ coordinator: "https://tether.example.com", caFile: "tls/ca.pem", tokenFile: "/run/secrets/token" }))
      .toMatchObject({ caFile: "/etc/tether/tls/ca.pem", tokenFile: "/run/secrets/token", tokenEnv: undefined });
  });

  it("refuses a caFile for plain http, and a token named twice", () => {
    expect(refusal({ coordinator: "http://127.0.0.1:7070", caFile: "ca.pem" }))
      .toBe(`${path}: caFile applies to an https:// coordinator only; the coordinator is http://127.0.0.1:7070`);
    expect(refusal({ coordinator: "http://127.0.0.1:7070", tokenEnv: "TETHER_TOKEN", tokenFile: "token" }))
      .toBe(`${path}: tokenEnv and tokenFile both name the token; keep one of them`);
  });

  it("lets the launcher read exactly its config, the CA file and the token file besides its roots", () => {
    const config = parse({ coordinator: "https://tether.example.com", caFile: "ca.pem", tokenFile: "token" });
    expect(permissionFlags(config, { os: "linux" })).toEqual([
      "--no-prompt",
      "--allow-net=tether.example.com:443",
      `--allow-read=${path},/etc/tether/ca.pem,/etc/tether/token,/srv/repos`,
      "--allow-sys=hostname",
    ]);
  });
});
