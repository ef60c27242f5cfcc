import type { LauncherConfig } from "../config/config.ts";

// The one place that turns a launcher config into Deno permission flags. The
// npm scripts (`launcher`, `launcher:build`, `launcher:compile`) and the tests
// all call permissionFlags, so what runs in a test is what runs on a host.

/** Why each flag is there, printed by `npm run launcher:build` and kept next to the code. */
export const permissionReasons: Readonly<Record<string, string>> = Object.freeze({
  "--no-prompt": "a missing permission fails at once instead of waiting for a terminal answer",
  "--allow-net": "the coordinator's host:port and nothing else: the launcher only ever dials out to it",
  "--allow-run": "each executor's program, plus the kill command that signals a job's process group",
  "--allow-env": "the token variable (tokenEnv) and the variables executors pass through; nothing else is readable",
  "--allow-read":
    "the config file, the CA and token files it names (caFile, tokenFile), and the project roots so that symlinks in a job's project dir are resolved before the containment check",
  "--allow-sys": "hostname only, to register under the OS host name when the config names none",
});

/**
 * The exact Deno flags for running the launcher with `config`, for a host
 * running `os` (Deno.build.os spelling: "linux", "darwin", "windows").
 * Never -A, never an unscoped list; throws when a name cannot be expressed.
 */
export function permissionFlags(config: LauncherConfig, options: { os: string }): string[] {
  const flags = ["--no-prompt", `--allow-net=${config.coordinatorAddress}`];

  const programs = config.executors.flatMap((profile) => profile.kind === "echo" ? [] : profile.argv.slice(0, 1));
  if (programs.length > 0) {
    const killCommand = options.os === "windows" && config.killCommand === "kill" ? "taskkill" : config.killCommand;
    flags.push(`--allow-run=${list([...programs, killCommand], "program")}`);
  }

  const envNames = [
    ...(config.tokenEnv ? [config.tokenEnv] : []),
    ...config.executors.flatMap((profile) => profile.env),
  ];
  if (envNames.length > 0) flags.push(`--allow-env=${list(envNames, "environment variable")}`);

  const files = [config.configPath, config.caFile, config.tokenFile].filter((path) => path !== undefined);
  flags.push(`--allow-read=${list([...files, ...config.projectRoots], "path")}`);
  if (config.hostname === undefined) flags.push("--allow-sys=hostname");
  return flags;
}

function list(items: readonly string[], what: string): string {
  const unique = [...new Set(items)];
  for (const item of unique) {
    // Deno splits permission lists on commas; a comma here would widen or break the scope.
    if (item.includes(",")) {
      throw new Error(`Cannot express the ${what} "${item}" as a Deno permission: it contains a comma`);
    }
    if (item === "") throw new Error(`Cannot express an empty ${what} as a Deno permission`);
  }
  return unique.join(",");
}
