import { appendFileSync } from "node:fs";

/**
 * Records a suite's figures: appended as one JSON line to the file named by
 * the environment variable `variable` (set by the suite's runner, which
 * writes them to docs/reliability.md), else only logged under `label`.
 */
export function recordResultLine(variable: string, label: string, line: object): void {
  const json = JSON.stringify(line);
  const file = process.env[variable];
  if (file) appendFileSync(file, `${json}\n`);
  else console.log(`${label}: ${json}`);
}
