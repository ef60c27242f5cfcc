import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, describe, expect, it, type TestContext } from "vitest";
import { JobType } from "../../gen/tether/v1/job_pb.ts";
import { type CoordinatorProcess, startCoordinatorProcess } from "../support/coordinator_process.ts";
import { LauncherDriver } from "../support/launcher_driver.ts";
import { recordFigures } from "./figures.ts";

const job = (bytes: number) => ({
  type: JobType.COMMAND,
  executor: "echo",
  projectDir: "/tmp",
  parameters: { prompt: "x".repeat(bytes) },
});

/** Creates jobs until the coordinator refuses one; returns the acknowledged ids and the refusal. */
async function fillUp(c: CoordinatorProcess, bytes: number, limit = 2000): Promise<{ ids: string[]; error: ConnectError }> {
  const ids: string[] = [];
  for (let i = 0; i < limit; i++) {
    try {
      ids.push((await c.jobs.createJob(job(bytes))).job!.id);
    } catch (e) {
      return { ids, error: ConnectError.from(e) };
    }
  }
  throw new Error(`the database took ${limit} jobs without filling up`);
}

function integrity(dbPath: string): { check: string; ids: Set<string> } {
  const db = new SQLite(dbPath, { readonly: true });
  try {
    return {
      check: db.pragma("integrity_check", { simple: true }) as string,
      ids: new Set(db.prepare("SELECT id FROM jobs").pluck().all() as string[]),
    };
  } finally {
    db.close();
  }
}

/** A small ext4 file system on a loop device, when this machine lets us mount one (root, loop devices). */
function loopFileSystem(dir: string, megabytes: number): { mount: string; unmount(): void } | string {
  if (process.getuid?.() !== 0) return "not root, so no loop mount";
  const image = join(dir, "fs.img");
  const mount = join(dir, "mnt");
  try {
    mkdirSync(mount);
    execFileSync("truncate", ["-s", `${megabytes}M`, image]);
    execFileSync("mkfs.ext4", ["-q", "-F", image], { stdio: "ignore" });
    execFileSync("mount", ["-o", "loop", image, mount], { stdio: "ignore" });
  } catch (e) {
    return `cannot mount a loop file system here: ${(e as Error).message.split("\n")[0]}`;
  }
  return { mount, unmount: () => execFileSync("umount", ["-l", mount]) };
}

describe("disk trouble under SQLite", () => {
  const dirs: string[] = [];
  const tmp = () => {
    const dir = mkdtempSync(join(tmpdir(), "tether-disk-"));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  /** A loop file system of `megabytes` in a fresh folder; where none can be mounted, the test is skipped, saying why. */
  const loopMount = (ctx: TestContext, megabytes: number) => {
    const fs = loopFileSystem(tmp(), megabytes);
    if (typeof fs !== "string") return fs;
    console.warn(`skipped: ${fs}`);
    return ctx.skip();
  };

  it("refuses writes past the size cap with RESOURCE_EXHAUSTED, keeps serving reads, loses nothing, and recovers with room", async () => {
    const dbPath = join(tmp(), "t.db");
    const full = await startCoordinatorProcess({ dbPath, flags: ["--db-max-bytes", "1048576"] });
    const { ids, error } = await fillUp(full, 30_000);
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(error.rawMessage).toMatch(/(store is nearly full|database is full).*nothing was changed/);
    expect((await full.jobs.listJobs({ pageSize: 1000 })).jobs).toHaveLength(ids.length);
    expect(full.logs.lines.some((l) => l.msg === "storage failure")).toBe(true);
    await full.stop();
    const afterFull = integrity(dbPath);
    expect(afterFull.check).toBe("ok");
    expect(afterFull.ids).toEqual(new Set(ids));

    const restarted = Date.now();
    const roomy = await startCoordinatorProcess({ dbPath, flags: ["--db-max-bytes", "67108864"] });
    try {
      const more = (await roomy.jobs.createJob(job(30_000))).job!.id;
      recordFigures("6a. Database at its size cap (SQLite max_page_count), then restarted with room", {
        jobs: ids.length + 1,
        faults: 1,
        lost: [...ids].filter((id) => !afterFull.ids.has(id)).length,
        doubled: 0,
        stuck: 0,
        maxRecoveryMs: Date.now() - restarted,
        note: "recovery: restart with a larger cap until the first write is acknowledged",
      });
      const l = await LauncherDriver.register(roomy);
      const offer = await l.nextOffer();
      await l.accept(offer);
      await l.succeed(offer);
      expect((await roomy.jobs.listJobs({ pageSize: 1000 })).jobs.map((j) => j.id)).toContain(more);
    } finally {
      await roomy.stop();
    }
    expect(integrity(dbPath).check).toBe("ok");
  });

  it("answers a full disk with RESOURCE_EXHAUSTED and carries on once space returns, without a restart", async (ctx) => {
    const fs = loopMount(ctx, 16);
    let c: CoordinatorProcess | undefined;
    try {
      const dbPath = join(fs.mount, "t.db");
      c = await startCoordinatorProcess({ dbPath, flags: [] });
      // Take nearly all free space with a ballast file, then fill the rest with jobs.
      const ballast = join(fs.mount, "ballast");
      try {
        execFileSync("dd", ["if=/dev/zero", `of=${ballast}`, "bs=1M", "count=64"], { stdio: "ignore" });
      } catch {
        // dd stops at "No space left on device": that is the point.
      }
      const { ids, error } = await fillUp(c, 30_000);
      expect(error.code).toBe(Code.ResourceExhausted);
      rmSync(ballast);
      const freed = Date.now();
      const after = (await c.jobs.createJob(job(30_000))).job!.id;
      const recoveryMs = Date.now() - freed;
      const listed = new Set((await c.jobs.listJobs({ pageSize: 1000 })).jobs.map((j) => j.id));
      expect(listed).toEqual(new Set([...ids, after]));
      recordFigures("6b. Disk full (16 MiB loop-mounted ext4 filled by a ballast file), then space freed", {
        jobs: ids.length + 1,
        faults: 1,
        lost: ids.filter((id) => !listed.has(id)).length,
        doubled: 0,
        stuck: 0,
        maxRecoveryMs: recoveryMs,
        note: "no restart: recovery from freeing space to the first acknowledged write",
      });
      await c.stop();
      expect(integrity(dbPath).check).toBe("ok");
    } finally {
      await c?.stop();
      fs.unmount();
    }
  });

  it("refuses to start on a database it cannot write, saying why", async (ctx) => {
    const fs = loopMount(ctx, 8);
    try {
      const dbPath = join(fs.mount, "t.db");
      const c = await startCoordinatorProcess({ dbPath, flags: [] });
      await c.jobs.createJob(job(10));
      await c.stop();
      execFileSync("mount", ["-o", "remount,ro", fs.mount]);
      // The earlier tokens: making new ones would open the read-only database here, before the coordinator.
      const failed = await startCoordinatorProcess({ dbPath, flags: [], tokens: c.tokens }).then(
        (p) => ({ started: p }),
        (e: Error) => ({ error: e.message }),
      );
      expect("error" in failed ? failed.error : "it started").toMatch(/cannot start[\s\S]*(readonly|read-only|unable to open)/i);
      execFileSync("mount", ["-o", "remount,rw", fs.mount]);
      expect(integrity(dbPath).check).toBe("ok");
    } finally {
      fs.unmount();
    }
  });
});
