import { type ChildProcess, spawn, type StdioOptions } from "node:child_process";
import { resolve } from "node:path";

/** The repository's root. */
export const repoDir = resolve(import.meta.dirname, "../..");

/**
 * Starts a TypeScript file of this repository under `node --import tsx`
 * (one process, not the tsx CLI's two, so that a signal reaches the program
 * itself), from the repository's root, with `env` as its whole environment
 * (this process's unless given).
 */
export function spawnTsx(
  script: string,
  args: readonly string[] = [],
  options: { nodeFlags?: readonly string[]; env?: NodeJS.ProcessEnv; stdio?: StdioOptions } = {},
): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", ...(options.nodeFlags ?? []), resolve(repoDir, script), ...args], {
    cwd: repoDir,
    stdio: options.stdio ?? ["ignore", "pipe", "pipe"],
    env: options.env ?? process.env,
  });
}
