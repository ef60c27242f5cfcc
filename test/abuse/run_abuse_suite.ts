// `npm run test:abuse`: runs the abuse suite at the sizes
// (TETHER_ABUSE=long), one attack file at a time so that none measures
// another's load, prints each attack's tables and, when every test passed,
// replaces the abuse suite's section of docs/reliability.md (the rest of the
// page is the fault suite's). Arguments are passed on to vitest (a file name
// runs that attack only, and such a partial run only prints its tables).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { repoDir } from "../../tools/support/tsx_process.ts";
import { replaceSection } from "../support/report_sections.ts";
import { exitUnlessWhole, factsOf, runLongSuite } from "../support/suite_run.ts";
import type { AttackLine } from "./abuse_figures.ts";
import { abuseReport, attackSection, byAttack } from "./abuse_report.ts";

const reportPath = join(repoDir, "docs", "reliability.md");
const run = runLongSuite<AttackLine>({
  folder: "test/abuse",
  modeVariable: "TETHER_ABUSE",
  resultsVariable: "TETHER_ABUSE_RESULTS",
  args: process.argv.slice(2),
  vitestFlags: ["--no-file-parallelism"],
});

process.stdout.write(`\n${byAttack(run.lines).map(attackSection).join("\n")}\n`);
exitUnlessWhole(run, "abuse suite", reportPath);
const section = abuseReport(run.lines, factsOf(run, "npm run test:abuse"));
const page = existsSync(reportPath) ? readFileSync(reportPath, "utf8") : "# Reliability\n";
mkdirSync(dirname(reportPath), { recursive: true });
writeFileSync(reportPath, replaceSection(page, section));
process.stdout.write(`Wrote the abuse suite's section of ${reportPath}\n`);
