import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseLauncherConfig } from "../../launcher-deno/src/config/config.ts";
import { permissionFlags } from "../../launcher-deno/src/host/permissions.ts";
import { denoEnv } from "../../launcher-deno/tools/deno_tools.ts";
import { JsonLines } from "../../tools/support/json_lines.ts";
import { repoDir } from "../../tools/support/tsx_process.ts";

export { repoDir };
export const denoPath = join(repoDir, "node_modules", ".bin", "deno");
export const standInClaude = join(repoDir, "test", "fixtures", "claude");
export const payloadExecutor = join(repoDir, "test", "fixtures", "payload_executor");
const hostOs = process.platform === "win32" ? "windows" : process.platform;

let bundle: Promise<string> | undefined;

/**
 * The launcher bundled by `deno bundle` (the same module graph as `deno run
 * src/main.ts` and `deno compile`), built once per test file.
 */
export function launcherBundle(): Promise<string> {
  bundle ??= (async () => {
    const out = join(mkdtempSync(join(tmpdir(), "tether-launcher-bundle-")), "launcher.js");
    await promisify(execFile)(denoPath, [
      "bundle",
      `--config=${join(repoDir, "launcher-deno", "deno.json")}`,
      "--quiet",
      "--output",
      out,
      join(repoDir, "launcher-deno", "src", "main.ts"),
    ], { env: denoEnv({ ...process.env, RUST_BACKTRACE: "0" }) });
    return out;
  })();
  return bundle;
}

/** The claude-code profile running the stand-in `claude`, with short grace periods. */
export function standInClaudeProfile(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    kind: "claude-code",
    command: standInClaude,
    env: ["PATH", "HOME"],
    grace: { interrupt: "500ms", terminate: "500ms" },
    ...overrides,
  };
}

/** The real Claude Code CLI, `@anthropic-ai/claude-code` (a native program), pinned as a dev dependency. */
export const realClaude = join(repoDir, "node_modules", "@anthropic-ai", "claude-code", "bin", "claude.exe");

/**
 * The claude-code profile running the real CLI against a stand-in Messages
 * API (test/support/messages_api.ts), offline: the launcher's environment
 * must hold the values of claudeOffline(), which the profile passes on.
 */
export function realClaudeProfile(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return standInClaudeProfile({
    command: realClaude,
    env: ["PATH", "HOME", ...Object.keys(claudeOffline("", ""))],
    // The CLI would retry a failed API call ten times, for minutes; the tests see each failure at once.
    setEnv: { CLAUDE_CODE_MAX_RETRIES: "0" },
    ...overrides,
  });
}

/** The environment that points the real CLI at `apiUrl` with a throwaway `home`, and keeps it off the internet. */
export function claudeOffline(apiUrl: string, home: string): Record<string, string> {
  return {
    ANTHROPIC_BASE_URL: apiUrl,
    ANTHROPIC_API_KEY: "sk-ant-stand-in",
    CLAUDE_CONFIG_DIR: join(home, ".claude"),
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
  };
}

/** A `command` profile running test/fixtures/payload_executor (PATH passed so node is found). */
export function payloadExecutorProfile(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    kind: "command",
    argv: [payloadExecutor],
    env: ["PATH"],
    parametersSchema: { type: "object" },
    grace: { interrupt: "500ms", terminate: "500ms" },
    ...overrides,
  };
}

export interface LauncherOptions {
  /** The coordinator to register with, and the registration token to do it with. */
  readonly coordinator: { readonly url: string; readonly tokens: { readonly registration: string } };
  readonly name?: string;
  readonly maxConcurrency?: number;
  readonly labels?: Record<string, string>;
  /** Executor profiles; echo and the stand-in claude-code by default. */
  readonly executors?: Record<string, unknown>;
  /** More top-level config fields. */
  readonly config?: Record<string, unknown>;
  /** More environment for the launcher process. */
  readonly env?: Record<string, string>;
}

export interface LauncherProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly configPath: string;
  /** The project root, an empty directory of its own. */
  readonly projectDir: string;
  readonly flags: readonly string[];
  readonly logs: JsonLines;
  readonly stderr: JsonLines;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the launcher id from the launcher's "registered" line. */
  registered(): Promise<string>;
  signal(signal: NodeJS.Signals): void;
}

const running = new Set<ChildProcess>();
let counter = 0;
/** The variable a test launcher reads its registration token from. */
const registrationTokenEnv = "TETHER_REGISTRATION_TOKEN";

/** The environment a test launcher needs beside its flags: its registration token. */
export function launcherTokenEnv(options: Pick<LauncherOptions, "coordinator">): Record<string, string> {
  return { [registrationTokenEnv]: options.coordinator.tokens.registration };
}

/**
 * Writes a launcher config for `options` into a fresh folder with its own
 * project root, and computes its permission flags with permissions.ts.
 */
export function writeLauncherConfig(options: LauncherOptions) {
  const name = options.name ?? `test-launcher-${process.pid}-${++counter}`;
  const dir = mkdtempSync(join(tmpdir(), `tether-${name}-`));
  const projectDir = join(dir, "project");
  mkdirSync(projectDir);
  const configPath = join(dir, "launcher.json");
  const config = {
    coordinator: options.coordinator.url,
    tokenEnv: registrationTokenEnv,
    name,
    hostname: "test-host",
    labels: options.labels ?? {},
    maxConcurrency: options.maxConcurrency ?? 2,
    projectRoots: [projectDir],
    executors: options.executors ?? { echo: { kind: "echo" }, "claude-code": standInClaudeProfile() },
    ...options.config,
  };
  const text = JSON.stringify(config, null, 2);
  writeFileSync(configPath, text);
  const flags = permissionFlags(parseLauncherConfig(text, configPath, { os: hostOs }), { os: hostOs });
  return { name, dir, projectDir, configPath, flags };
}

/**
 * Starts the bundled launcher as a real Deno process with the permission
 * flags permissions.ts computes for its config (the flags `npm run
 * launcher` uses), in a fresh folder with its own project root.
 */
export async function startLauncher(options: LauncherOptions): Promise<LauncherProcess> {
  const script = await launcherBundle();
  const written = writeLauncherConfig(options);
  const child = spawn(denoPath, ["run", ...written.flags, script, "--config", written.configPath], {
    cwd: written.dir,
    stdio: ["ignore", "pipe", "pipe"],
    env: denoEnv({ ...process.env, ...launcherTokenEnv(options), ...options.env, RUST_BACKTRACE: "0", NO_COLOR: "1" }),
  });
  return watchLauncher(child, written);
}

/** A launcher process with the launcher id its registration returned. */
export type RegisteredLauncher = LauncherProcess & { readonly id: string };

/** Starts a launcher as startLauncher does, and resolves once it registered. */
export async function startRegisteredLauncher(options: LauncherOptions): Promise<RegisteredLauncher> {
  const launcher = await startLauncher(options);
  return Object.assign(launcher, { id: await launcher.registered() });
}

/** Follows a launcher process started some other way (the build's wrapper, npm run launcher). */
export function watchLauncher(
  child: ChildProcess,
  info: { name: string; configPath: string; projectDir: string; flags: readonly string[] },
): LauncherProcess {
  running.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.once("exit", (code, signal) => {
      running.delete(child);
      resolveExit({ code, signal });
    })
  );
  const logs = new JsonLines(child.stdout!, `launcher ${info.name}`);
  const stderr = new JsonLines(child.stderr!, `launcher ${info.name} stderr`);
  return {
    ...info,
    child,
    logs,
    stderr,
    exited,
    async registered() {
      const line = await logs.waitFor((l) => l.msg === "registered", 'the "registered" line')
        .catch((err) => {
          throw new Error(`${(err as Error).message}\nstderr:\n${stderr.tail()}`);
        });
      return String(line.launcherId);
    },
    signal(signal) {
      child.kill(signal);
    },
  };
}

/** Kills every launcher process still running (for afterAll). */
export function killLauncherProcesses(): void {
  for (const child of running) child.kill("SIGKILL");
}

/** The live processes (not zombies) whose working directory is `dir` or inside it, with their command lines (Linux). */
export function processesIn(dir: string): { pid: number; cmdline: string }[] {
  const found: { pid: number; cmdline: string }[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      if (cwd !== dir && !cwd.startsWith(`${dir}/`)) continue;
      if (!processAlive(Number(entry))) continue;
      found.push({ pid: Number(entry), cmdline: readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ").trim() });
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

/** Whether a process with `pid` exists (a zombie counts as gone). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.split(") ")[1]?.[0] !== "Z";
  } catch {
    return true;
  }
}
