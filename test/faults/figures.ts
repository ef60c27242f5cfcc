import { recordResultLine } from "../support/results_file.ts";

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
  recordResultLine("TETHER_FAULTS_RESULTS", "figures", { scenario, ...figures });
}
