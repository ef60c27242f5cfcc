// `npm run test:faults`: runs the fault suite in its long mode
// (TETHER_FAULTS=long), prints each scenario's table and, when every test
// passed, writes them to docs/reliability.md with the command and the
// machine that produced them. Arguments are passed on to vitest (a file
// name runs that scenario only, and such a partial run only prints its tables).
// The abuse suite's section of that page (`npm run test:abuse`) is kept.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { findSection, replaceSection } from "../support/report_sections.ts";
import { commitDescription, loadAverage, machineFacts } from "../support/run_facts.ts";
import { inOrder, reliabilityReport, type ScenarioLine, scenarioTable } from "./reliability_report.ts";

const repoDir = resolve(import.meta.dirname, "../..");
const reportPath = join(repoDir, "docs", "reliability.md");
const extraArgs = process.argv.slice(2);
/** File filters given narrow the run to those scenarios; flags are passed on as they are. */
const partial = extraArgs.some((arg) => !arg.startsWith("-"));
const vitestArgs = ["run", ...(partial ? [] : ["test/faults"]), ...extraArgs];
const resolvedCommand = ["TETHER_FAULTS=long", "vitest", ...vitestArgs].join(" ");

const resultsDir = mkdtempSync(join(os.tmpdir(), "tether-faults-results-"));
const results = join(resultsDir, "figures.ndjson");
writeFileSync(results, "");
const loadBefore = loadAverage();
const started = Date.now();
const run = spawnSync(
  process.execPath,
  [join(repoDir, "node_modules", "vitest", "vitest.mjs"), ...vitestArgs],
  { cwd: repoDir, stdio: "inherit", env: { ...process.env, TETHER_FAULTS: "long", TETHER_FAULTS_RESULTS: results } },
);
const wallMs = Date.now() - started;
const lines = readFileSync(results, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as ScenarioLine);
rmSync(resultsDir, { recursive: true, force: true });

process.stdout.write(`\n${inOrder(lines).map(scenarioTable).join("\n")}\n`);
if (run.status !== 0 || lines.length === 0) {
  process.stderr.write(`The fault suite failed (exit ${run.status ?? run.signal}); ${reportPath} was not rewritten.\n`);
  process.exit(run.status || 1);
}
if (partial) {
  process.stdout.write(`A partial run (${resolvedCommand}): ${reportPath} was not rewritten.\n`);
  process.exit(0);
}
const abuseFigures = existsSync(reportPath) ? findSection(readFileSync(reportPath, "utf8")) : null;
const page = reliabilityReport(lines, {
  command: "npm run test:faults",
  resolvedCommand,
  date: new Date(started).toISOString(),
  commit: commitDescription(),
  wallMs,
  machine: machineFacts(loadBefore),
});
mkdirSync(dirname(reportPath), { recursive: true });
writeFileSync(reportPath, abuseFigures === null ? page : replaceSection(page, abuseFigures));
process.stdout.write(`Wrote ${reportPath}\n`);
