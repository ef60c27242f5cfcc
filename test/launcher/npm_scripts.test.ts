import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { JobState } from "../../gen/tether/v1/job_pb.ts";
import { denoEnv } from "../../launcher-deno/tools/deno_tools.ts";
import {
  denoPath,
  launcherTokenEnv,
  type LauncherProcess,
  repoDir,
  watchLauncher,
  writeLauncherConfig,
} from "../support/launcher_process.ts";
import { runJobOn, useCoordinatorProcess } from "../support/process_fixtures.ts";

const run = promisify(execFile);
const env = denoEnv({ ...process.env, RUST_BACKTRACE: "0", NO_COLOR: "1", DENO: denoPath });
const coordinator = useCoordinatorProcess();

/** Registers, runs one echo job, drains on SIGTERM and exits 0. */
async function provesItself(launcher: LauncherProcess): Promise<void> {
  const ended = await runJobOn(coordinator, launcher, { executor: "echo", parameters: { prompt: `hello from ${launcher.name}` } });
  expect(JobState[ended.state]).toBe("SUCCEEDED");
  launcher.signal("SIGTERM");
  expect((await launcher.exited).code).toBe(0);
  expect(launcher.logs.messages("deregistered")).toHaveLength(1);
}

const targets: Record<string, string> = {
  "linux-x64": "x86_64-unknown-linux-gnu",
  "linux-arm64": "aarch64-unknown-linux-gnu",
  "darwin-x64": "x86_64-apple-darwin",
  "darwin-arm64": "aarch64-apple-darwin",
  "win32-x64": "x86_64-pc-windows-msvc",
};
const hostTarget = targets[`${process.platform}-${process.arch}`] ?? "an unsupported host";

/** Where deno compile finds the runtime it embeds without downloading: DENORT_BIN, or its cache. */
function denortAvailable(): string | undefined {
  if (process.env.DENORT_BIN && existsSync(process.env.DENORT_BIN)) return `DENORT_BIN=${process.env.DENORT_BIN}`;
  const version = JSON.parse(readFileSync(join(repoDir, "node_modules", "deno", "package.json"), "utf8")).version;
  const denoDir = process.env.DENO_DIR ??
    (process.platform === "darwin" ? join(homedir(), "Library", "Caches", "deno") : join(homedir(), ".cache", "deno"));
  const cached = join(denoDir, "dl", "release", `v${version}`, `denort-${hostTarget}.zip`);
  return existsSync(cached) ? cached : undefined;
}

/** The environment of a launcher started by hand: it reads its registration token from a variable. */
const withToken = () => ({ ...env, ...launcherTokenEnv({ coordinator }) });

describe("the launcher's npm scripts", () => {
  it("npm run launcher:build writes a bundle and a wrapper that runs it with the config's exact flags", async () => {
    const config = writeLauncherConfig({ coordinator, executors: { echo: { kind: "echo" } } });
    const out = mkdtempSync(join(tmpdir(), "tether-build-"));
    const { stdout } = await run("npm", ["run", "--silent", "launcher:build", "--", "--config", config.configPath, "--out", out], {
      cwd: repoDir,
      env,
    });
    expect(stdout).toContain("Permissions:");
    const wrapper = readFileSync(join(out, "launcher"), "utf8");
    const quoted = config.flags.map((flag) => `'${flag}'`).join(" ");
    expect(wrapper).toContain(`exec "\${DENO:-deno}" run ${quoted} "$here/launcher.js" --config '${config.configPath}'`);
    const child = spawn(join(out, "launcher"), [], { stdio: ["ignore", "pipe", "pipe"], env: withToken() });
    await provesItself(watchLauncher(child, config));
  });

  it("npm run launcher runs the source with the same flags, and a SIGTERM to npm drains it", async () => {
    const config = writeLauncherConfig({ coordinator, executors: { echo: { kind: "echo" } } });
    const child = spawn("npm", ["run", "--silent", "launcher", "--", "--config", config.configPath], {
      cwd: repoDir,
      stdio: ["ignore", "pipe", "pipe"],
      env: withToken(),
    });
    await provesItself(watchLauncher(child, config));
  });

  it("npm run launcher drains, and does not force, on one SIGTERM to its whole process group (as systemd, timeout and docker stop send it)", async () => {
    const config = writeLauncherConfig({ coordinator, executors: { echo: { kind: "echo" } } });
    // A group of its own, as a service's: the SIGTERM reaches npm, the node wrapper and deno, and npm and the wrapper pass it on.
    const child = spawn("npm", ["run", "--silent", "launcher", "--", "--config", config.configPath], {
      cwd: repoDir,
      stdio: ["ignore", "pipe", "pipe"],
      env: withToken(),
      detached: true,
    });
    const launcher = watchLauncher(child, config);
    await launcher.registered();
    process.kill(-child.pid!, "SIGTERM");
    expect((await launcher.exited).code).toBe(0);
    expect(launcher.logs.messages("draining")).toHaveLength(1);
    expect(launcher.logs.messages("forcing shutdown: stopping running jobs")).toEqual([]);
    expect(launcher.logs.messages("deregistered")).toHaveLength(1);
  });

  it("npm run launcher:compile refuses an unknown target with the list of the five", async () => {
    const config = writeLauncherConfig({ coordinator });
    const failure = await run("npm", ["run", "--silent", "launcher:compile", "--", "--config", config.configPath, "--target", "riscv"], {
      cwd: repoDir,
      env,
    }).catch((err) => err);
    expect(failure.code).toBe(2);
    expect(failure.stderr).toContain(
      'Unknown --target "riscv"; one of: x86_64-unknown-linux-gnu, aarch64-unknown-linux-gnu, x86_64-apple-darwin, aarch64-apple-darwin, x86_64-pc-windows-msvc',
    );
  });

  const denort = denortAvailable();
  if (!denort) {
    console.log(
      `SKIPPED: the deno compile test needs the Deno runtime for ${hostTarget}: set DENORT_BIN to a denort binary, ` +
        "or let deno compile download it once (it goes to DENO_DIR/dl). No denort is available here.",
    );
  }
  it.skipIf(!denort)(`npm run launcher:compile builds a binary for ${hostTarget} that runs with the baked-in flags and config`, async () => {
    const config = writeLauncherConfig({ coordinator, executors: { echo: { kind: "echo" } } });
    const out = mkdtempSync(join(tmpdir(), "tether-compile-"));
    await run("npm", ["run", "--silent", "launcher:compile", "--", "--config", config.configPath, "--target", hostTarget, "--out", out], {
      cwd: repoDir,
      env,
    });
    const binary = join(out, process.platform === "win32" ? "tether-launcher.exe" : "tether-launcher");
    const child = spawn(binary, [], { stdio: ["ignore", "pipe", "pipe"], env: withToken() });
    await provesItself(watchLauncher(child, config));
  }, 120_000);
});
