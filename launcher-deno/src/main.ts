// The launcher's entry point: the only module that reads arguments and the
// environment, installs signal handlers or exits.
import { type LauncherConfig, parseLauncherConfig } from "./config/config.ts";
import { ConfigError } from "./config/config_fields.ts";
import { createLauncherClient } from "./coordinator/coordinator_client.ts";
import { Launcher } from "./launcher.ts";
import { CredentialRefusedError, LauncherCredentials } from "./coordinator/launcher_credentials.ts";
import { jsonLogger } from "./log.ts";
import { RegistrationRefusedError } from "./coordinator/registration.ts";
import { describeError } from "./coordinator/rpc_errors.ts";
import { ShutdownSignals } from "./host/shutdown_signals.ts";
import { spawnSubprocess } from "./host/subprocess.ts";
import { launcherVersion } from "./version.ts";

const usage = `Usage: launcher --config <launcher.json>

Runs tether jobs on this host for the coordinator named in the config.
SIGTERM or SIGINT drains (no new jobs; running ones finish); a second signal
stops running jobs (SIGINT, SIGTERM, SIGKILL after their grace periods); a
third kills them at once. The same signal twice within a second counts
once (a process group's SIGTERM also comes passed on by npm). Logs are JSON
lines on stdout.`;

function fail(message: string, code = 2): never {
  console.error(message);
  Deno.exit(code);
}

function configPathFrom(args: string[]): string {
  for (const [i, arg] of args.entries()) {
    if (arg === "--help" || arg === "-h") {
      console.log(usage);
      Deno.exit(0);
    }
    if (arg === "--version") {
      console.log(launcherVersion);
      Deno.exit(0);
    }
    const next = args[i + 1];
    if (arg === "--config" && next) return next;
    if (arg.startsWith("--config=")) return arg.slice("--config=".length);
  }
  return fail(`Missing --config <file>\n\n${usage}`);
}

async function loadConfig(path: string): Promise<LauncherConfig> {
  try {
    const text = await Deno.readTextFile(path);
    return parseLauncherConfig(text, await Deno.realPath(path), { os: Deno.build.os });
  } catch (err) {
    if (err instanceof ConfigError) fail(`Invalid launcher config: ${err.message}`);
    if (err instanceof Deno.errors.NotCapable) {
      fail(
        `Cannot read the config file "${path}": the launcher may read only the config it was started for (${err.message})`,
      );
    }
    return fail(`Cannot read the config file "${path}": ${(err as Error).message}`);
  }
}

/** Reads each variable the config names, once; a name outside --allow-env stops the launcher. */
function readEnv(names: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of new Set(names)) {
    try {
      const value = Deno.env.get(name);
      if (value !== undefined) env[name] = value;
    } catch (err) {
      fail(
        `Cannot read the environment variable ${name}: start the launcher with the permission flags of its config (npm run launcher). ${
          (err as Error).message
        }`,
      );
    }
  }
  return env;
}

/** Reads a file the config names (caFile, tokenFile); it must be granted by --allow-read, as the config's flags do. */
async function readNamedFile(path: string, field: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable) {
      fail(
        `Cannot read the ${field} "${path}": start the launcher with the permission flags of its config (npm run launcher). ${
          (err as Error).message
        }`,
      );
    }
    return fail(`Cannot read the ${field} "${path}" named by the config: ${(err as Error).message}`);
  }
}

/** The bearer token in a tokenFile: one line of visible characters, whitespace around it ignored. */
async function readTokenFile(path: string): Promise<string> {
  const token = (await readNamedFile(path, "tokenFile")).trim();
  if (token === "") fail(`The tokenFile "${path}" is empty; it must hold the launcher's bearer token`);
  if (!/^[\x21-\x7e]+$/.test(token)) {
    fail(`The tokenFile "${path}" must hold one bearer token: visible ASCII characters, no spaces or line breaks`);
  }
  return token;
}

/** The CA certificates in a caFile; Deno would ignore text that holds none, and every connection would then fail. */
async function readCaFile(path: string): Promise<string> {
  const pem = await readNamedFile(path, "caFile");
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    fail(`The caFile "${path}" holds no PEM certificate (a "-----BEGIN CERTIFICATE-----" block)`);
  }
  return pem;
}

/**
 * The config without the optional profiles whose program Deno did not find
 * when it started (Deno resolves --allow-run names then, so a program that
 * is not granted now cannot be run at all). A missing required program stops
 * the launcher.
 */
function runnableConfig(config: LauncherConfig): LauncherConfig {
  const runnable = (command: string) => Deno.permissions.querySync({ name: "run", command }).state === "granted";
  const executors = config.executors.filter((profile) => {
    const program = profile.argv[0];
    if (program === undefined || runnable(program)) return true;
    const why =
      `executor "${profile.name}": the program "${program}" was not found (or not granted) when the launcher started`;
    if (!profile.optional) {
      fail(`Cannot start: ${why}. Install it, fix the path, or mark the profile "optional": true.`);
    }
    log.warn(`${why}; leaving the profile out`);
    return false;
  });
  if (executors.length === 0) fail("Cannot start: no executor profile can run on this host");
  if (executors.some((profile) => profile.kind !== "echo") && !runnable(config.killCommand)) {
    log.warn(
      `"${config.killCommand}" was not found: stopping a job will signal its leader process only, not its group`,
    );
  }
  return Object.freeze({ ...config, executors: Object.freeze(executors) });
}

const log = jsonLogger((line) => console.log(line));
const config = runnableConfig(await loadConfig(configPathFrom(Deno.args)));
const hostEnv = readEnv(config.executors.flatMap((profile) => profile.env));
const token = config.tokenFile !== undefined
  ? await readTokenFile(config.tokenFile)
  : config.tokenEnv
  ? readEnv([config.tokenEnv])[config.tokenEnv]
  : undefined;
const caCertPem = config.caFile === undefined ? undefined : await readCaFile(config.caFile);
const os = Deno.build.os;
// RegisterLauncher sends the config's token; every later call the credential the registration returned.
const credentials = new LauncherCredentials(() => token, (error) => launcher.credentialRefused(error));
const launcher: Launcher = new Launcher(config, {
  client: createLauncherClient(config.coordinatorUrl, { caCertPem, interceptors: [credentials.interceptor()] }),
  credentials,
  log,
  hostname: config.hostname ?? Deno.hostname(),
  hostEnv,
  spawn: (spec) => spawnSubprocess(spec, { os, killCommand: config.killCommand, warn: log.warn }),
  probe: {
    realPath: (path) => Deno.realPath(path),
    isDirectory: async (path) => (await Deno.stat(path)).isDirectory,
  },
});

const signals = new ShutdownSignals();
const onSignal = (signal: Deno.Signal) => () => {
  const count = signals.receive(signal);
  if (count === 0) return log.info("signal received again at once: one delivery, counted once", { signal });
  log.info("signal received", { signal, count });
  if (count === 1) launcher.drain(`received ${signal}`);
  else if (count === 2) launcher.force();
  else launcher.abandon();
};
Deno.addSignalListener("SIGINT", onSignal("SIGINT"));
if (os !== "windows") Deno.addSignalListener("SIGTERM", onSignal("SIGTERM"));

log.info("starting", {
  version: launcherVersion,
  name: config.name,
  coordinator: config.coordinatorUrl,
  executors: config.executors.map((profile) => profile.name),
  maxConcurrency: config.maxConcurrency,
  pid: Deno.pid,
});
try {
  await launcher.run();
} catch (err) {
  log.error("launcher stopped", { error: describeError(err) });
  Deno.exit(err instanceof RegistrationRefusedError ? 3 : err instanceof CredentialRefusedError ? 4 : 1);
}
log.info("stopped");
Deno.exit(0);
