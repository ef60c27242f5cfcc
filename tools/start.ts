// `npm start`: the quick start. Runs a coordinator on its defaults (SQLite in
// ./data, 127.0.0.1:7070) and, once it listens, one local launcher from
// launcher-deno/launcher.example.json (echo, and claude-code when `claude` is
// on the PATH). Extra arguments go to the coordinator. Ctrl-C stops both, the
// launcher first: the terminal sends SIGINT to its process group, which holds
// the launcher (it drains and deregisters) but not the coordinator, which runs
// in a group of its own and is stopped once the launcher has exited.
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const config = join(repo, "launcher-deno", "launcher.example.json");

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
    process.stdout.write(`\ntether is up: coordinator at ${url}; see the README for curl examples.\n\n`);
    launcher = run("launcher", ["launcher-deno/tools/launcher_cli.ts", "run", "--config", config], { ownGroup: false });
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
