// The launcher's npm scripts, run by Node (`node --import tsx`):
//
//   npm run launcher -- --config launcher.json             deno run, scoped
//   npm run launcher:build -- --config launcher.json       bundle + wrapper in dist/launcher/
//   npm run launcher:compile -- --config launcher.json --target <t>
//   node --import tsx launcher-deno/tools/launcher_cli.ts flags --config launcher.json [--os linux]
//   npm run launcher:check                                  deno check, lint and fmt --check
//
// (deno.json's tasks call this file too: inside `deno task`, the name "deno"
// resolves to the npm package's launcher script rather than a binary.)
//
// Every command takes its permission flags from launcher-deno/src/host/permissions.ts.
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type LauncherConfig, parseLauncherConfig } from "../src/config/config.ts";
import { permissionFlags, permissionReasons } from "../src/host/permissions.ts";
import { compileTargets, denoBinary, denoEnv, osOfTarget } from "./deno_tools.ts";

const launcherDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repoDir = resolve(launcherDir, "..");
const entry = join(launcherDir, "src", "main.ts");
const denoConfig = join(launcherDir, "deno.json");

const usage = `Usage:
  npm run launcher -- --config <launcher.json>
  npm run launcher:build -- --config <launcher.json> [--out dist/launcher]
  npm run launcher:compile -- --config <launcher.json> --target <target> [--out dist/launcher-<target>]
  node --import tsx launcher-deno/tools/launcher_cli.ts flags --config <launcher.json> [--os linux|darwin|windows]
  npm run launcher:check

Targets: ${compileTargets.join(", ")}`;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

function loadConfig(path: string | undefined, os: string): LauncherConfig {
  if (!path) fail(`Missing --config <launcher.json>\n\n${usage}`);
  const absolute = resolve(path);
  let text: string;
  try {
    text = readFileSync(absolute, "utf8");
  } catch (err) {
    fail(`Cannot read the config file "${absolute}": ${(err as Error).message}`);
  }
  try {
    return parseLauncherConfig(text, absolute, { os });
  } catch (err) {
    fail(`Invalid launcher config: ${(err as Error).message}`);
  }
}

/** Runs `deno` with `args`, inheriting stdio; resolves with its exit code. SIGTERM and SIGHUP are passed on. */
function runDeno(args: string[], options: { forwardSignals?: boolean } = {}): Promise<number> {
  const child = spawn(denoBinary(repoDir), args, { stdio: "inherit", env: denoEnv(process.env) });
  if (options.forwardSignals) {
    // Ctrl-C reaches deno straight from the terminal (same process group);
    // passing SIGINT on as well would count as a second signal and force.
    process.on("SIGINT", () => {});
    for (const signal of ["SIGTERM", "SIGHUP"] as const) process.on(signal, () => child.kill(signal));
  }
  return new Promise((resolveCode) => {
    child.on("error", (err) => fail(`Cannot start deno: ${err.message}`));
    child.on("exit", (code, signal) => resolveCode(code ?? (signal ? 128 : 1)));
  });
}

function describeFlags(flags: string[]): string {
  return flags.map((flag) => {
    const name = flag.split("=")[0] ?? flag;
    return `  ${flag}\n      ${permissionReasons[name] ?? ""}`;
  }).join("\n");
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  const { values } = parseArgs({
    args: rest,
    options: {
      config: { type: "string" },
      target: { type: "string" },
      out: { type: "string" },
      os: { type: "string" },
      help: { type: "boolean" },
    },
    strict: true,
  });
  if (values.help || !command) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const hostOs = process.platform === "win32" ? "windows" : process.platform;

  if (command === "check") {
    for (const args of [["check", entry], ["lint", launcherDir], ["fmt", "--check", launcherDir]]) {
      const [verb, ...rest] = args;
      const code = await runDeno([verb!, `--config=${denoConfig}`, ...rest]);
      if (code !== 0) process.exit(code);
    }
    return;
  }

  if (command === "flags") {
    const os = values.os ?? hostOs;
    const config = loadConfig(values.config, os);
    process.stdout.write(`${permissionFlags(config, { os }).join(" ")}\n`);
    return;
  }

  if (command === "run") {
    const config = loadConfig(values.config, hostOs);
    const flags = permissionFlags(config, { os: hostOs });
    process.exit(
      await runDeno(["run", `--config=${denoConfig}`, ...flags, entry, "--config", config.configPath], {
        forwardSignals: true,
      }),
    );
  }

  if (command === "build") {
    const config = loadConfig(values.config, hostOs);
    const flags = permissionFlags(config, { os: hostOs });
    const out = resolve(values.out ?? join(repoDir, "dist", "launcher"));
    mkdirSync(out, { recursive: true });
    const bundle = join(out, "launcher.js");
    const code = await runDeno(["bundle", `--config=${denoConfig}`, "--quiet", "--output", bundle, entry]);
    if (code !== 0) process.exit(code);
    const wrapper = join(out, "launcher");
    writeFileSync(
      wrapper,
      [
        "#!/bin/sh",
        "# Runs the bundled tether launcher with the permission flags of its config.",
        `# Written by npm run launcher:build for ${config.configPath}.`,
        'here="$(cd "$(dirname "$0")" && pwd)"',
        `exec "\${DENO:-deno}" run ${flags.map(shellQuote).join(" ")} "$here/launcher.js" --config ${
          shellQuote(config.configPath)
        } "$@"`,
        "",
      ].join("\n"),
    );
    chmodSync(wrapper, 0o755);
    process.stdout.write(
      `Wrote ${relative(process.cwd(), bundle)} and ${relative(process.cwd(), wrapper)}.\n` +
        `Run: ${relative(process.cwd(), wrapper) || wrapper}   (uses deno from PATH, or $DENO)\n` +
        `Permissions:\n${describeFlags(flags)}\n`,
    );
    return;
  }

  if (command === "compile") {
    const target = values.target ?? fail(`Missing --target <target>; one of: ${compileTargets.join(", ")}`);
    if (!compileTargets.includes(target)) fail(`Unknown --target "${target}"; one of: ${compileTargets.join(", ")}`);
    const os = osOfTarget(target);
    const config = loadConfig(values.config, os);
    const flags = permissionFlags(config, { os });
    const out = resolve(values.out ?? join(repoDir, "dist", `launcher-${target}`));
    mkdirSync(out, { recursive: true });
    const binary = join(out, os === "windows" ? "tether-launcher.exe" : "tether-launcher");
    process.stdout.write(`Compiling for ${target} with:\n${describeFlags(flags)}\n`);
    const code = await runDeno([
      "compile",
      `--config=${denoConfig}`,
      ...flags,
      "--target",
      target,
      "--output",
      binary,
      entry,
      "--config",
      config.configPath,
    ]);
    if (code !== 0) {
      fail(
        `deno compile failed for ${target}. It needs the Deno runtime (denort) for that target: it downloads it ` +
          `once per target into DENO_DIR, or uses the binary named by DENORT_BIN (which must match the target).`,
      );
    }
    process.stdout.write(`Wrote ${binary} (config baked in: ${config.configPath}).\n`);
    return;
  }

  fail(`Unknown command "${command}"\n\n${usage}`);
}

await main();
