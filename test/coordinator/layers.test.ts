import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

// The coordinator's code map (docs/architecture.md) as a rule: each layer imports only from the layers
// below it, so that a behaviour is found by its RPC, its rule or its wake-up, and storage never reaches up.

const root = resolve(import.meta.dirname, "../../coordinator");

/** Lower layers first. A file may import, at run time, only from its own layer or a lower one. */
const layers = ["domain", "storage", "dispatch", "auth", "api", "http", "process"] as const;

function layerOf(file: string): (typeof layers)[number] {
  const path = relative(root, file);
  // Logging is plumbing every layer may use; the rest at the top level starts and configures the process.
  if (path === "log.ts") return "domain";
  const top = path.split("/")[0]!;
  return (layers as readonly string[]).includes(top) ? top as (typeof layers)[number] : "process";
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : []
  );
}

/** The coordinator files a file imports at run time (type-only imports are erased and do not count). */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const found: string[] = [];
  for (const m of text.matchAll(/^import\s+(type\s+)?([^;]*?)\s+from\s+"(\.[^"]+)";/gms)) {
    const [, typeOnly, clause, spec] = m;
    if (typeOnly) continue;
    const names = /\{([^}]*)\}/.exec(clause!)?.[1]?.split(",").map((n) => n.trim()).filter((n) => n !== "") ?? [];
    const hasDefault = !clause!.trim().startsWith("{");
    if (!hasDefault && names.length > 0 && names.every((n) => n.startsWith("type "))) continue;
    const target = resolve(dirname(file), spec!);
    if (target.startsWith(root + "/")) found.push(target);
  }
  return found;
}

const files = sourceFiles(root);

describe("the coordinator's layers", () => {
  it("import only downwards: domain, storage, dispatch, auth, api, http, then the process", () => {
    const upward = files.flatMap((file) =>
      runtimeImports(file)
        .filter((target) => layers.indexOf(layerOf(target)) > layers.indexOf(layerOf(file)))
        .map((target) => `${relative(root, file)} (${layerOf(file)}) imports ${relative(root, target)} (${layerOf(target)})`)
    );
    expect(upward).toEqual([]);
  });

  it("have no import cycles at run time", () => {
    const graph = new Map(files.map((f) => [f, runtimeImports(f)]));
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "open") {
        cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(root, f)).join(" -> "));
        return;
      }
      state.set(file, "open");
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, "done");
    };
    for (const file of files) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it("keep every file under about 300 lines", () => {
    const long = files.map((f) => ({ f: relative(root, f), n: readFileSync(f, "utf8").split("\n").length }))
      .filter(({ n }) => n > 320);
    expect(long).toEqual([]);
  });
});
