import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { repoDir } from "../support/child.ts";

const venv = join(repoDir, "node_modules", ".cache", "tether-bench-venv");
const python = join(venv, "bin", "python");
const requirements = join(repoDir, "bench", "report", "requirements.txt");

/**
 * Renders the PNG charts with matplotlib (bench/report/render_charts.py), from
 * a private virtualenv under node_modules/.cache that is created and filled
 * from PyPI with the pinned bench/report/requirements.txt on first use.
 * Returns the PNG paths; on failure, says why and returns none (the tables
 * are written anyway).
 */
export async function renderCharts(resultsJson: string, outDir: string): Promise<string[]> {
  try {
    if (!existsSync(python)) {
      process.stderr.write(`creating ${venv} for the charts (matplotlib from PyPI)\n`);
      execFileSync("python3", ["-m", "venv", venv], { stdio: "inherit" });
    }
    const check = spawnSync(python, ["-c", "import matplotlib, numpy"], { stdio: "ignore" });
    if (check.status !== 0) {
      execFileSync(python, ["-m", "pip", "install", "--quiet", "-r", requirements], { stdio: "inherit" });
    }
    const out = execFileSync(python, [join(repoDir, "bench", "report", "render_charts.py"), resultsJson, outDir], {
      encoding: "utf8",
    });
    return out.split("\n").filter((l) => l.endsWith(".png"));
  } catch (error) {
    process.stderr.write(`charts not rendered: ${(error as Error).message}\n`);
    return [];
  }
}
