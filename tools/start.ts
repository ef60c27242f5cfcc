// `npm start`: the quick start. Runs a coordinator on its defaults (SQLite in
// ./data, 127.0.0.1:7070) and, once it listens, one local launcher from
// launcher-deno/launcher.example.json (echo, and claude-code when `claude` is
// on the PATH). Extra arguments go to the coordinator. Ctrl-C stops both, the
// launcher first: the terminal sends SIGINT to its process group, which holds
// the launcher (it drains and deregisters) but not the coordinator, which runs
// in a group of its own and is stopped once the launcher has exited.
//
// Every call needs a token: before the coordinator starts, this makes (once,
// mode 0600, in the data folder, the SQLite file's: ./data by default)
// client.token for the person at the keyboard and launcher.token, the
// registration token of the local launcher, and makes them again only when
// they no longer work. The launcher runs from launcher.json, written there:
// the example config, pointed at the address the coordinator listens on
// (so that `npm start -- --listen 127.0.0.1:0` works too) and at that token.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { defaults } from "../coordinator/config.ts";
import { isPostgresUrl } from "../coordinator/storage/db/open_database.ts";
import { runTokensCommand } from "../coordinator/tokens_command.ts";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const example = join(repo, "launcher-deno", "launcher.example.json");
process.chdir(repo);

const { values } = parseArgs({ args: process.argv.slice(2), options: { db: { type: "string" } }, strict: false });
const db = typeof values.db === "string" ? values.db : process.env.TETHER_DB ?? defaults.db;
const dataDir = isPostgresUrl(db) ? "data" : dirname(db);
/** A path as people type it from the repository's root. */
const shown = (path: string) => (isAbsolute(path) ? path : relative(repo, resolve(path)) || ".");
const clientToken = join(dataDir, "client.token");
const launcherToken = join(dataDir, "launcher.token");
const launcherConfig = join(dataDir, "launcher.json");

for (const [role, name, file] of [["client", "local-client", clientToken], ["launcher-registration", "local-launcher", launcherToken]]) {
  const code = await runTokensCommand(["ensure", "--role", role!, "--name", name!, "--out", file!, "--db", db], process.env, {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stdout.write(`tokens      | ${text}`),
    now: () => Date.now(),
  });
  if (code !== 0) process.exit(code);
}

/** The example launcher config, for the coordinator at `url`, with its paths made absolute. */
function writeLauncherConfig(url: string): void {
  const config = JSON.parse(readFileSync(example, "utf8")) as { projectRoots: string[] } & Record<string, unknown>;
  const exampleDir = dirname(example);
  writeFileSync(launcherConfig, JSON.stringify({
    ...config,
    $comment: `Written by npm start from ${relative(repo, example)}; edit that file instead.`,
    coordinator: url,
    tokenFile: resolve(launcherToken),
    projectRoots: config.projectRoots.map((root) => resolve(exampleDir, root)),
  }, null, 2));
}

function run(name: string, args: string[], options: { ownGroup: boolean; onLine?: (line: string) => void }): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], {
    cwd: repo,
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.ownGroup,
  });
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on("line", (line) => {
      process.stdout.write(`${name.padEnd(11)} | ${line}\n`);
      options.onLine?.(line);
    });
  }
  return child;
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", () => resolve())));

let launcher: ChildProcess | null = null;
const coordinator = run("coordinator", ["coordinator/main.ts", ...process.argv.slice(2)], {
  ownGroup: true,
  onLine(line) {
    if (launcher || !line.includes('"msg":"listening"')) return;
    const { url } = JSON.parse(line) as { url: string };
    process.stdout.write(
      `\ntether is up: coordinator at ${url}. Your client token is in ${shown(clientToken)}; send it as\n` +
        `  -H "Authorization: Bearer $(cat ${shown(clientToken)})"\n` +
        `(see the README for curl examples). The local launcher registers with ${shown(launcherToken)}.\n\n`,
    );
    writeLauncherConfig(url);
    launcher = run("launcher", ["launcher-deno/tools/launcher_cli.ts", "run", "--config", launcherConfig], {
      ownGroup: false,
    });
    void exited(launcher).then(() => {
      if (coordinator.exitCode === null) coordinator.kill("SIGTERM");
    });
  },
});

process.on("SIGINT", () => {
  // The launcher got it too, and stops the coordinator when it exits; without one, stop it now.
  if (!launcher || launcher.exitCode !== null) coordinator.kill("SIGTERM");
});
process.on("SIGTERM", () => {
  // The launcher drains and deregisters first, then the coordinator stops.
  if (launcher && launcher.exitCode === null) launcher.kill("SIGTERM");
  else coordinator.kill("SIGTERM");
});

await exited(coordinator);
if (launcher) {
  if ((launcher as ChildProcess).exitCode === null) (launcher as ChildProcess).kill("SIGTERM");
  await exited(launcher);
}
process.exit(coordinator.exitCode ?? 0);
