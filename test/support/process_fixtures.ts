/**
 * "A coordinator and launchers, and the cleanup": the processes a test file
 * of test/launcher shares, started in its beforeAll hooks and killed in its
 * afterAll, and launchers of one test, killed when that test finishes.
 */
import { afterAll, beforeAll, onTestFinished } from "vitest";
import { type Job, JobType } from "../../gen/tether/v1/job_pb.ts";
import type { JobRequest } from "../../tools/support/jobs.ts";
import {
  type CoordinatorProcess,
  type CoordinatorProcessOptions,
  killCoordinatorProcesses,
  startCoordinatorProcess,
  waitForJobEnd,
} from "./coordinator_process.ts";
import {
  killLauncherProcesses,
  type LauncherOptions,
  type LauncherProcess,
  type RegisteredLauncher,
  startLauncher,
  startRegisteredLauncher,
} from "./launcher_process.ts";

/**
 * A coordinator process for the tests of this file: started in beforeAll
 * with `options` (or with what `options()` resolves to then, for options
 * made in an earlier hook), and killed in afterAll together with every
 * coordinator and launcher process the file started. It reads as the
 * started process from beforeAll on; before, any use of it throws.
 */
export function useCoordinatorProcess(
  options: CoordinatorProcessOptions | (() => Promise<CoordinatorProcessOptions>) = {},
): CoordinatorProcess {
  afterAll(() => {
    killLauncherProcesses();
    killCoordinatorProcesses();
  });
  return startedInBeforeAll("the coordinator", async () =>
    startCoordinatorProcess(typeof options === "function" ? await options() : options));
}

/**
 * A launcher process on `coordinator` for the tests of this file, started
 * and registered in beforeAll (after the hooks above it: the coordinator's),
 * and killed in afterAll.
 */
export function useLauncher(
  coordinator: CoordinatorProcess,
  options: Omit<LauncherOptions, "coordinator"> = {},
): RegisteredLauncher {
  const launcher = startedInBeforeAll("the launcher", () => startRegisteredLauncher({ coordinator, ...options }));
  afterAll(() => launcher.signal("SIGKILL"));
  return launcher;
}

/** Starts a launcher process (as startLauncher does) for the test running now: it is killed when the test finishes. */
export async function startLauncherForTest(options: LauncherOptions): Promise<LauncherProcess> {
  const launcher = await startLauncher(options);
  onTestFinished(() => {
    if (launcher.child.exitCode === null && launcher.child.signalCode === null) launcher.signal("SIGKILL");
  });
  return launcher;
}

/**
 * Creates a job for `launcher`: a COMMAND (unless `request` says otherwise)
 * in its project dir, targeted at it. Resolves with the job's id.
 */
export async function createJobOn(
  coordinator: Pick<CoordinatorProcess, "jobs">,
  launcher: Pick<LauncherProcess, "projectDir" | "registered">,
  request: JobRequest,
): Promise<string> {
  const { job } = await coordinator.jobs.createJob({
    type: JobType.COMMAND,
    projectDir: launcher.projectDir,
    launcherId: await launcher.registered(),
    ...request,
  });
  return job!.id;
}

/** Creates a job for `launcher` as createJobOn does, and resolves with it once it ended. */
export async function runJobOn(
  coordinator: Pick<CoordinatorProcess, "jobs">,
  launcher: Pick<LauncherProcess, "projectDir" | "registered">,
  request: JobRequest,
): Promise<Job> {
  return await waitForJobEnd(coordinator, await createJobOn(coordinator, launcher, request));
}

/**
 * What a beforeAll hook starts, for the file's tests to use as if it had
 * been started already: each property is read from the started value.
 */
function startedInBeforeAll<T extends object>(what: string, start: () => Promise<T>): T {
  let value: T | undefined;
  beforeAll(async () => {
    value = await start();
  });
  return new Proxy({} as T, {
    get(_, key) {
      if (value === undefined) throw new Error(`${what} is started in beforeAll: use it in a test or a later hook`);
      const property = Reflect.get(value, key, value) as unknown;
      return typeof property === "function" ? property.bind(value) : property;
    },
  });
}
