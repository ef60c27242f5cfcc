import { existsSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { JobType } from "../../gen/tether/v1/job_pb.ts";
import type { JobRequest } from "../../tools/support/jobs.ts";
import { killCoordinatorProcesses } from "../support/coordinator_process.ts";
import {
  killLauncherProcesses,
  type LauncherOptions,
  processAlive,
  type RegisteredLauncher,
  repoDir,
  startRegisteredLauncher,
} from "../support/launcher_process.ts";
import { checkInvariants, type InvariantReport, type LedgerRun } from "./invariants.ts";
import type { JobLoad } from "./job_load.ts";

export const seqExecutor = join(repoDir, "test", "fixtures", "seq_executor");

/** The executor profile every fault-suite launcher offers: test/fixtures/seq_executor, short grace periods. */
export function seqProfile(): Record<string, unknown> {
  return {
    kind: "command",
    argv: [seqExecutor],
    env: ["PATH", "TETHER_FAULT_HOLD_FILE"],
    parametersSchema: { type: "object" },
    grace: { interrupt: "300ms", terminate: "300ms" },
  };
}

/** A FaultRig for the scenarios of this test file, cleaned up in afterAll. */
export function useFaultRig(name: string): FaultRig {
  const rig = new FaultRig(name);
  afterAll(() => rig.cleanup());
  return rig;
}

/**
 * One scenario's workspace: a folder that is every launcher's project root,
 * the executors' ledger in it, and the cleanup that leaves no process behind.
 */
export class FaultRig {
  readonly dir = mkdtempSync(join(tmpdir(), "tether-faults-"));
  readonly ledger = join(this.dir, "runs.ndjson");
  #launchers = 0;

  constructor(readonly name: string) {}

  /** A coordinator database file in this rig's folder, so that cleanup removes it too. */
  database(name = "tether"): string {
    return join(this.dir, `${name}.db`);
  }

  /** A job for seq_executor writing `count` numbered events, recorded in the ledger. */
  job(parameters: { count: number; intervalMs: number; holdAt?: number }, extra: JobRequest = {}): JobRequest {
    return {
      type: JobType.COMMAND,
      executor: "seq",
      parameters: { ...parameters, ledger: this.ledger },
      projectDir: this.dir,
      ...extra,
    };
  }

  /** Starts a launcher of the seq profile on `coordinator` (its URL may be a proxy's), with this rig's folder as its project root. */
  async launcher(
    coordinator: LauncherOptions["coordinator"],
    options: { maxConcurrency: number; env?: Record<string, string>; name?: string },
  ): Promise<RegisteredLauncher> {
    return await startRegisteredLauncher({
      coordinator,
      name: options.name ?? `${this.name}-${process.pid}-${++this.#launchers}`,
      maxConcurrency: options.maxConcurrency,
      executors: { seq: seqProfile() },
      config: { projectRoots: [this.dir] },
      env: options.env,
    });
  }

  /** The invariants at a scenario's end, for the jobs `load` created, from the database at `dbPath` and the ledger. */
  check(dbPath: string, load: JobLoad, expectedSeq: number): InvariantReport {
    return checkInvariants(dbPath, { created: load.created, expectedSeq, runs: this.runs() });
  }

  /** Every executor run so far, from the ledger. */
  runs(): LedgerRun[] {
    if (!existsSync(this.ledger)) return [];
    return readFileSync(this.ledger, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line) as LedgerRun);
  }

  /** Executor processes still alive (the pid still names a seq_executor, not a process that reused it). */
  aliveRuns(): LedgerRun[] {
    // A pid of the ledger may have been reused, even by another scenario's seq_executor running in parallel
    // (pid_max may be 32768): only a process working in this rig's folder is one of this rig's runs.
    const dir = realpathSync(this.dir);
    return this.runs().filter((run) =>
      processAlive(run.pid) && commandLine(run.pid).includes("seq_executor") && workingDir(run.pid) === dir
    );
  }

  /** Kills every launcher, coordinator and executor this file started, and removes the folder. */
  cleanup(): void {
    killLauncherProcesses();
    killCoordinatorProcesses();
    for (const run of this.aliveRuns()) {
      try {
        process.kill(run.pid, "SIGKILL");
      } catch {
        // It exited meanwhile.
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function workingDir(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return "";
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return "";
  }
}
