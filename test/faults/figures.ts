import { appendFileSync } from "node:fs";

/** One scenario's figures, as docs/reliability.md shows them. */
export interface Figures {
  jobs: number;
  faults: number;
  lost: number;
  doubled: number;
  stuck: number;
  /** The longest time from a fault to the system being whole again, when the scenario measures one. */
  maxRecoveryMs?: number;
  note?: string;
}

/**
 * Records a scenario's figures: appended as one JSON line to the file named
 * by TETHER_FAULTS_RESULTS (set by `npm run test:faults`), else only logged.
 */
export function recordFigures(scenario: string, figures: Figures): void {
  const line = JSON.stringify({ scenario, ...figures });
  const file = process.env.TETHER_FAULTS_RESULTS;
  if (file) appendFileSync(file, `${line}\n`);
  else console.log(`figures: ${line}`);
}
