import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { JobState } from "../../gen/tether/v1/job_pb.ts";
import { denoEnv } from "../../launcher-deno/tools/deno_tools.ts";
import { jobEvents } from "../support/coordinator_process.ts";
import { denoPath, launcherTokenEnv, payloadExecutorProfile, repoDir } from "../support/launcher_process.ts";
import { runJobOn, startLauncherForTest, useCoordinatorProcess, useLauncher } from "../support/process_fixtures.ts";

const run = promisify(execFile);
const coordinator = useCoordinatorProcess();
/** Another coordinator: the launcher may not reach it. */
const elsewhere = useCoordinatorProcess();
const launcher = useLauncher(coordinator, {
  executors: { work: payloadExecutorProfile({ env: ["PATH", "TETHER_LISTED"] }) },
  env: { TETHER_LISTED: "listed-value", TETHER_SECRET: "must-not-leak" },
});

describe("the launcher's permission scope", () => {
  it("is exactly the coordinator's address, the listed programs and kill, the listed variables and the config and roots", () => {
    expect(launcher.flags).toEqual([
      "--no-prompt",
      `--allow-net=127.0.0.1:${coordinator.port}`,
      `--allow-run=${join(repoDir, "test", "fixtures", "payload_executor")},kill`,
      "--allow-env=TETHER_REGISTRATION_TOKEN,PATH,TETHER_LISTED",
      `--allow-read=${launcher.configPath},${launcher.projectDir}`,
    ]);
    expect(launcher.flags.some((flag) => flag === "-A" || flag === "--allow-all" || flag === "--allow-run")).toBe(false);
  });

  it("under those flags the launcher's own code cannot reach another host:port, start an unlisted program, or read an unlisted variable or file", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "tether-probe-")), "scope_probe.js");
    const env = denoEnv({ ...process.env, RUST_BACKTRACE: "0", NO_COLOR: "1", TETHER_SECRET: "must-not-leak", ...launcherTokenEnv({ coordinator }) });
    await run(denoPath, ["bundle", `--config=${join(repoDir, "launcher-deno", "deno.json")}`, "--quiet", "--output", out,
      join(repoDir, "test", "fixtures", "scope_probe.js")], { env });
    const { stdout } = await run(denoPath, ["run", ...launcher.flags, out, launcher.configPath, elsewhere.url, "TETHER_SECRET", "/etc/hostname", String(elsewhere.child.pid)], { env });
    const outcomes = JSON.parse(stdout);
    expect(outcomes.coordinator).toBe("ok");
    expect(outcomes.otherHostPort).toMatch(/NotCapable: Requires net access to "127\.0\.0\.1:\d+"/);
    expect(outcomes.listedProgram).toBe("ok");
    expect(outcomes.unlistedProgram).toMatch(/NotCapable: Requires run access to "\/bin\/sh"/);
    expect(outcomes.listedEnv).toBe("ok");
    expect(outcomes.unlistedEnv).toMatch(/NotCapable: Requires env access to "TETHER_SECRET"/);
    expect(outcomes.envListing).toMatch(/NotCapable: Requires env access/);
    expect(outcomes.unlistedFile).toMatch(/NotCapable: Requires read access to "\/etc\/hostname"/);
    expect(outcomes.writeProjectRoot).toMatch(/NotCapable: Requires write access/);
    expect(outcomes.signalOtherProcess).toMatch(/NotCapable: Requires run access/);
  });

  it("an executor sees only the variables its profile lists, not the launcher's environment", async () => {
    const ended = await runJobOn(coordinator, launcher, { executor: "work", parameters: { reportEnv: true } });
    expect(JobState[ended.state]).toBe("SUCCEEDED");
    const reported = (await jobEvents(coordinator, ended.id)).find((event) => event.type === "env")!;
    expect(Object.keys(reported.env as object).sort()).toEqual(["PATH", "TETHER_LISTED"]);
    expect(reported.env).toMatchObject({ TETHER_LISTED: "listed-value", PATH: process.env.PATH });
  });

  it("a missing required program stops the launcher at start; a missing optional one is left out", async () => {
    // A bare name Deno cannot find on the PATH when it starts (an absolute
    // path is not checked until a job tries to start it).
    const missing = "claude-not-installed-here";
    const refused = await startLauncherForTest({
      coordinator,
      executors: { echo: { kind: "echo" }, "claude-code": { kind: "claude-code", command: missing } },
    });
    expect((await refused.exited).code).toBe(2);
    const stderr = refused.stderr.lines.map((line) => line.text).join("\n");
    expect(stderr).toContain(`Cannot start: executor "claude-code": the program "${missing}" was not found`);

    const tolerant = await startLauncherForTest({
      coordinator,
      executors: { echo: { kind: "echo" }, "claude-code": { kind: "claude-code", command: missing, optional: true } },
    });
    const id = await tolerant.registered();
    const { launchers } = await coordinator.operator.listLaunchers({});
    expect(launchers.find((l) => l.id === id)!.executors).toEqual(["echo"]);
  });

  it("a config that lists a loader variable is refused before anything starts", async () => {
    const refused = await startLauncherForTest({
      coordinator,
      executors: { work: payloadExecutorProfile({ env: ["LD_PRELOAD"] }) },
    }).catch((err: Error) => err);
    expect(String(refused)).toContain('"LD_PRELOAD" cannot be passed to executors');
  });
});
