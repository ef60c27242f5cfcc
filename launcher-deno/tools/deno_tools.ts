import { existsSync } from "node:fs";
import { join } from "node:path";

/** The five targets `deno compile` builds for. */
export const compileTargets: readonly string[] = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
];

/** The Deno.build.os of a compile target. */
export function osOfTarget(target: string): string {
  if (target.includes("linux")) return "linux";
  if (target.includes("apple")) return "darwin";
  return "windows";
}

/** The deno binary: $DENO, else the npm package's, else the one on PATH. */
export function denoBinary(repoDir: string): string {
  if (process.env.DENO) return process.env.DENO;
  const local = join(repoDir, "node_modules", ".bin", process.platform === "win32" ? "deno.cmd" : "deno");
  return existsSync(local) ? local : "deno";
}

/**
 * The environment for a deno process: the caller's, less the dynamic loader
 * variables (LD_*, DYLD_*), with which Deno refuses a scoped --allow-run.
 */
export function denoEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !/^(LD_|DYLD_)/.test(name)));
}
