/** An attack's figures as docs/reliability.md shows them, and how a test records them. */
import { recordResultLine } from "../support/results_file.ts";
import type { Pressure } from "./under_attack.ts";

/** One load of an attack (a row of its table): what was sent and what it did. */
export interface LoadRow {
  load: string;
  pressure: Pressure;
  /** Probe jobs (and the attack's own acknowledged writes) GetJob no longer finds. */
  lost: number;
  /** What the attacker got back, in a few words. */
  answered: string;
}

/** A table of figures of the attack's own (sockets' deadlines, database sizes). */
export interface DetailTable {
  caption: string;
  columns: string[];
  rows: (string | number)[][];
}

export interface AttackLine {
  /** Numbered as in the issue: "1. Paused watches". */
  attack: string;
  /** The sizes, the flags the coordinator ran with. */
  setup: string;
  /** The coordinator's defence and the flags that set it. */
  defence: string;
  rows: LoadRow[];
  details?: DetailTable[];
  /** How the targets particular to this attack fared, when it has any. */
  verdicts?: string[];
}

/**
 * Records an attack's figures: appended as one JSON line to the file named
 * by TETHER_ABUSE_RESULTS (set by `npm run test:abuse`), else only logged.
 */
export function recordAttack(line: AttackLine): void {
  recordResultLine("TETHER_ABUSE_RESULTS", "abuse figures", line);
}

/** The coordinator's memory in MiB, one decimal. */
export function mib(bytes: number): number {
  return Math.round(bytes / 2 ** 20 * 10) / 10;
}
