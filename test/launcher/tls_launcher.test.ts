/**
 * A real Deno launcher talking to a coordinator over HTTPS whose
 * certificate a private CA signed (made here with openssl): it trusts that
 * CA because its config names it in caFile, and nothing else was changed
 * on the host. Its registration token comes from a tokenFile.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { beforeAll, describe, expect, it } from "vitest";
import { JobState } from "../../gen/tether/v1/job_pb.ts";
import { JobService } from "../../gen/tether/v1/job_service_pb.ts";
import { denoEnv } from "../../launcher-deno/tools/deno_tools.ts";
import { connectTransport } from "../../tools/support/connect_clients.ts";
import { fastCoordinatorFlags } from "../support/coordinator_process.ts";
import { denoPath, launcherBundle, watchLauncher, writeLauncherConfig } from "../support/launcher_process.ts";
import { runJobOn, startLauncherForTest, useCoordinatorProcess } from "../support/process_fixtures.ts";
import { makeTestCertificates, type TestCertificates } from "../support/tls_certificates.ts";

let certs: TestCertificates;
const coordinator = useCoordinatorProcess(async () => {
  certs = await makeTestCertificates();
  return { flags: [...fastCoordinatorFlags, "--tls-cert", certs.certPath, "--tls-key", certs.keyPath] };
});
let tokenFile: string;
/** Clients that trust the CA, with the client token. */
let clients: { jobs: ReturnType<typeof createClient<typeof JobService>> };

beforeAll(() => {
  tokenFile = join(certs.dir, "registration.token");
  writeFileSync(tokenFile, `\n  ${coordinator.tokens.registration}\n`);
  clients = { jobs: createClient(JobService, connectTransport(coordinator.url, coordinator.tokens.client, certs.caPem)) };
});

/** The token from tokenFile rather than the variable the test helpers set up. */
const fromTokenFile = () => ({ tokenEnv: undefined, tokenFile });

describe("a launcher and an https coordinator", () => {
  it("trusting the CA in its caFile, registers with the token in its tokenFile and runs an echo job end to end", async () => {
    const launcher = await startLauncherForTest({
      coordinator,
      executors: { echo: { kind: "echo" } },
      config: { caFile: certs.caPath, ...fromTokenFile() },
    });
    expect(launcher.flags).toEqual([
      "--no-prompt",
      `--allow-net=127.0.0.1:${coordinator.port}`,
      `--allow-read=${launcher.configPath},${certs.caPath},${tokenFile},${launcher.projectDir}`,
    ]);
    const ended = await runJobOn(clients, launcher, { executor: "echo", parameters: { prompt: "hello over TLS" } });
    expect(JobState[ended.state]).toBe("SUCCEEDED");
    expect(ended.result).toMatchObject({ result: "hello over TLS" });
  });

  it("without the CA, cannot register: it does not trust the coordinator's certificate", async () => {
    const launcher = await startLauncherForTest({
      coordinator,
      executors: { echo: { kind: "echo" } },
      config: fromTokenFile(),
    });
    const retry = await launcher.logs.waitFor(
      (line) => line.msg === "cannot register; retrying",
      "a failed registration",
    );
    expect(String(retry.error)).toContain("invalid peer certificate: UnknownIssuer");
    launcher.signal("SIGKILL");
  });

  it("refuses at start, before any connection, to send its token over plain http to a host that is not this one", async () => {
    // The flags come from a loopback config; the file then names another host, as a mistyped config would.
    const written = writeLauncherConfig({ coordinator, executors: { echo: { kind: "echo" } } });
    const config = {
      coordinator: "http://192.0.2.10:7070",
      name: "lan",
      projectRoots: ["."],
      executors: { echo: { kind: "echo" } },
    };
    writeFileSync(written.configPath, JSON.stringify(config));
    const child = spawn(denoPath, ["run", ...written.flags, await launcherBundle(), "--config", written.configPath], {
      stdio: ["ignore", "pipe", "pipe"],
      env: denoEnv({ ...process.env, RUST_BACKTRACE: "0", NO_COLOR: "1" }),
    });
    const launcher = watchLauncher(child, written);
    expect((await launcher.exited).code).toBe(2);
    const stderr = launcher.stderr.lines.map((line) => line.text).join("\n");
    expect(stderr).toContain("Invalid launcher config: ");
    expect(stderr).toContain('coordinator is plain http:// to "192.0.2.10", which is not this host');
    expect(stderr).toContain('"allowInsecureHttp": true');
    expect(launcher.logs.lines).toEqual([]);
  });
});
