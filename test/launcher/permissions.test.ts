import { describe, expect, it } from "vitest";
import { parseLauncherConfig } from "../../launcher-deno/src/config/config.ts";
import { permissionFlags, permissionReasons } from "../../launcher-deno/src/host/permissions.ts";

const path = "/etc/tether/launcher.json";

function flags(config: Record<string, unknown>, os = "linux"): string[] {
  const text = JSON.stringify({
    coordinator: "https://10.0.0.5:7070",
    name: "box",
    projectRoots: ["/srv/repos"],
    ...config,
  });
  return permissionFlags(parseLauncherConfig(text, path, { os }), { os });
}

describe("the permission flags", () => {
  it("scope the launcher to the coordinator, its programs, its variables, its config and roots", () => {
    expect(flags({
      tokenEnv: "TETHER_TOKEN",
      executors: {
        echo: { kind: "echo" },
        "claude-code": { kind: "claude-code", env: ["HOME", "PATH", "ANTHROPIC_API_KEY"] },
        lint: { kind: "command", argv: ["/usr/local/bin/lint"], env: ["PATH"] },
      },
    })).toEqual([
      "--no-prompt",
      "--allow-net=10.0.0.5:7070",
      "--allow-run=claude,/usr/local/bin/lint,kill",
      "--allow-env=TETHER_TOKEN,HOME,PATH,ANTHROPIC_API_KEY",
      `--allow-read=${path},/srv/repos`,
      "--allow-sys=hostname",
    ]);
  });

  it("grant no run or env permission at all when only the in-process echo runs", () => {
    expect(flags({ hostname: "box-1", executors: { echo: { kind: "echo" } } })).toEqual([
      "--no-prompt",
      "--allow-net=10.0.0.5:7070",
      `--allow-read=${path},/srv/repos`,
    ]);
  });

  it("list taskkill instead of kill on Windows", () => {
    expect(flags({ executors: { c: { kind: "claude-code" } } }, "windows")).toContain("--allow-run=claude,taskkill");
  });

  it("are never -A or an unscoped list, and each has a stated reason", () => {
    const all = flags({ executors: { c: { kind: "claude-code", env: ["PATH"] } } });
    for (const flag of all) {
      expect(flag).not.toMatch(/^(-A|--allow-all)$/);
      if (flag.startsWith("--allow-")) expect(flag).toContain("=");
      expect(permissionReasons[flag.split("=")[0]!]).toBeTruthy();
    }
  });

  it("refuse a name with a comma, which Deno would split into two", () => {
    expect(() => flags({ projectRoots: ["/srv/a,b"], executors: { echo: { kind: "echo" } } })).toThrow(
      'Cannot express the path "/srv/a,b" as a Deno permission: it contains a comma',
    );
  });
});
