import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Runs the repository's own buf (npx puts node_modules/.bin, and so protoc-gen-es, on PATH). */
async function buf(...args: string[]): Promise<void> {
  try {
    await promisify(execFile)("npx", ["--no-install", "buf", ...args], { cwd: root });
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    throw new Error(`buf ${args.join(" ")} failed:\n${stdout}${stderr}`);
  }
}

/** Every file under `dir`, by path relative to it, with its content. */
async function readTree(dir: string): Promise<Map<string, string>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  return new Map(
    await Promise.all(files.map(async (f) => [f.slice(dir.length + 1), await readFile(f, "utf8")] as const)),
  );
}

describe("the proto API", () => {
  it("passes buf lint", async () => {
    await buf("lint");
  });

  it("generates exactly the committed gen/, so gen/ cannot drift from proto/", async () => {
    const out = await mkdtemp(join(tmpdir(), "tether-gen-"));
    try {
      await buf("generate", "-o", out);
      const generated = await readTree(join(out, "gen"));
      const committed = await readTree(join(root, "gen"));
      const drifted = [...new Set([...generated.keys(), ...committed.keys()])]
        .filter((path) => generated.get(path) !== committed.get(path)).sort();
      expect(generated.size).toBeGreaterThan(0);
      expect(drifted, "files of gen/ that `npm run generate` would change").toEqual([]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
