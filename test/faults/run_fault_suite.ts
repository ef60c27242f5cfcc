// `npm run test:faults`: runs the fault suite in its long mode
// (TETHER_FAULTS=long), prints each scenario's table and, when every test
// passed, writes them to docs/reliability.md with the command and the
// machine that produced them. Arguments are passed on to vitest (a file
// name runs that scenario only, and such a partial run only prints its tables).
// The abuse suite's section of that page (`npm run test:abuse`) is kept.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { repoDir } from "../../tools/support/tsx_process.ts";
import { findSection, replaceSection } from "../support/report_sections.ts";
import { exitUnlessWhole, factsOf, runLongSuite } from "../support/suite_run.ts";
import { inOrder, reliabilityReport, type ScenarioLine, scenarioTable } from "./reliability_report.ts";

const reportPath = join(repoDir, "docs", "reliability.md");
const run = runLongSuite<ScenarioLine>({
  folder: "test/faults",
  modeVariable: "TETHER_FAULTS",
  resultsVariable: "TETHER_FAULTS_RESULTS",
  args: process.argv.slice(2),
});

process.stdout.write(`\n${inOrder(run.lines).map(scenarioTable).join("\n")}\n`);
exitUnlessWhole(run, "fault suite", reportPath);
const abuseFigures = existsSync(reportPath) ? findSection(readFileSync(reportPath, "utf8")) : null;
const page = reliabilityReport(run.lines, factsOf(run, "npm run test:faults"));
mkdirSync(dirname(reportPath), { recursive: true });
writeFileSync(reportPath, abuseFigures === null ? page : replaceSection(page, abuseFigures));
process.stdout.write(`Wrote ${reportPath}\n`);
