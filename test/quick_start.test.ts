/**
 * The README's quick start is the contract: `npm start` (tools/start.ts)
 * makes the tokens, runs a coordinator and a local launcher, and the two curl
 * commands the README shows create a job and read its result, with the
 * client token it wrote. Here npm start listens on port 0 and keeps its
 * database and tokens in a folder of its own, and the commands are taken
 * from README.md itself, only their address and data folder changed.
 */
import { type ChildProcess, execFile } from "node:child_process";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobState } from "../gen/tether/v1/job_pb.ts";
import { denoEnv } from "../launcher-deno/tools/deno_tools.ts";
import { clientsFor } from "../tools/support/connect_clients.ts";
import { JsonLines } from "../tools/support/json_lines.ts";
import { repoDir, spawnTsx } from "../tools/support/tsx_process.ts";
import { waitForJobEnd } from "./support/coordinator_process.ts";

const run = promisify(execFile);
const dataDir = mkdtempSync(join(tmpdir(), "tether-quick-start-"));
let start: ChildProcess;
let lines: JsonLines;
let url: string;

/** The quick start's curl commands, one string each, as README.md shows them. */
function quickStartCommands(): string[] {
  const readme = readFileSync(join(repoDir, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Quick start"), readme.indexOf("## Talking to the coordinator"));
  const block = /create a job and\s+read its result:\s+```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error("README.md's quick start has no curl block after \"create a job and read its result:\"");
  return block.replace(/\\\n/g, " ").split("\n").filter((line) => line.trim() !== "");
}

/** Runs one README command in bash from the repository's root, against this test's coordinator and data folder. */
async function sh(command: string): Promise<string> {
  const local = command.replaceAll("http://127.0.0.1:7070", url).replaceAll("data/", `${dataDir}/`);
  const { stdout } = await run("bash", ["-c", local], { cwd: repoDir });
  return stdout;
}

beforeAll(async () => {
  start = spawnTsx("tools/start.ts", ["--listen", "127.0.0.1:0", "--db", join(dataDir, "tether.db")], {
    env: denoEnv({ ...process.env, RUST_BACKTRACE: "0" }),
  });
  // start.ts prefixes each line of its children with their name, so every line is text here.
  lines = new JsonLines(start.stdout!, "npm start");
  const text = (pattern: RegExp) => (line: Record<string, unknown>) => pattern.test(String(line.text ?? ""));
  const up = await lines.waitFor(text(/tether is up: coordinator at \S+\./), 'the "tether is up" line');
  url = /coordinator at (\S+)\./.exec(String(up.text))![1]!;
  await lines.waitFor(text(/^launcher +\| .*"msg":"registered"/), 'the launcher\'s "registered" line');
});

afterAll(async () => {
  if (start && start.exitCode === null) {
    const exited = new Promise((resolve) => start.once("exit", resolve));
    start.kill("SIGTERM");
    await exited;
  }
});

describe("the README's quick start", () => {
  it("writes the client and launcher tokens once, readable by their owner only", () => {
    for (const file of ["client.token", "launcher.token"]) {
      const stat = statSync(join(dataDir, file));
      expect((stat.mode & 0o777).toString(8), file).toBe("600");
      expect(readFileSync(join(dataDir, file), "utf8")).toMatch(/^tth_[A-Za-z0-9_-]{43}\n$/);
    }
  });

  it("creates a job with the first command and reads its result with the second", async () => {
    const [create, get] = quickStartCommands();
    expect(create).toMatch(/Authorization: Bearer \$\(cat data\/client\.token\)/);
    const { job } = JSON.parse(await sh(create!)) as { job: { id: string } };
    expect(job.id).toMatch(/^job_/);
    const token = readFileSync(join(dataDir, "client.token"), "utf8").trim();
    const clients = clientsFor(url, { admin: token, client: token, registration: "" });
    expect((await waitForJobEnd(clients, job.id)).state).toBe(JobState.SUCCEEDED);
    const read = JSON.parse(await sh(get!.replace("job_...", job.id))) as { job: { state: string; result: unknown } };
    expect(read.job.state).toBe("JOB_STATE_SUCCEEDED");
    expect(read.job.result).toMatchObject({ type: "result", result: "hello" });
  });

  it("refuses the same command without the token, and says how to get one", async () => {
    const [create] = quickStartCommands();
    const anonymous = create!.replace(/-H "Authorization: Bearer \$\(cat data\/client\.token\)"/, "");
    const answer = JSON.parse(await sh(anonymous)) as { code: string; message: string };
    expect(answer).toMatchObject({ code: "unauthenticated", message: expect.stringMatching(/data\/client\.token/) });
  });
});
