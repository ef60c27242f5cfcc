import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { JobState, JobType } from "../../gen/tether/v1/job_pb.ts";
import { launcherId } from "../../coordinator/domain/ids.ts";
import { claimStatement } from "../../coordinator/storage/claim_jobs.ts";
import { type Db, openDatabase } from "../../coordinator/storage/db/open_database.ts";
import { create } from "@bufbuild/protobuf";
import { CreateJobRequestSchema } from "../../gen/tether/v1/job_service_pb.ts";
import { defaults } from "../../coordinator/config.ts";
import { createJobInput } from "../../coordinator/api/jobs/create_job_input.ts";
import { createJob } from "../../coordinator/storage/create_job.ts";
import { inTransaction } from "../../coordinator/storage/db/transaction.ts";
import { WalCheckpointer } from "../../coordinator/storage/db/wal_checkpointer.ts";
import { startCoordinatorProcess } from "../support/coordinator_process.ts";
import { countSqliteStatements } from "../support/statement_counter.ts";
import { LauncherDriver } from "../support/launcher_driver.ts";

/** A fresh temporary folder for each test of the describe block that calls it. */
function useTempDir(): () => string {
  let dir = "";
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "tether-storage-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  return () => dir;
}

/** A validated CreateJob request for the echo executor, numbered by its parameters. */
const input = (i: number, idempotencyKey: string | null = null) =>
  createJobInput(
    create(CreateJobRequestSchema, {
      type: JobType.COMMAND, executor: "echo", projectDir: "/tmp", parameters: { i }, idempotencyKey: idempotencyKey ?? "",
    }),
    defaults,
  );

describe("SQLite storage", () => {
  const dir = useTempDir();

  it("opens in WAL mode with its schema migrated", async () => {
    const db = await openDatabase(join(dir(), "t.db"));
    await db.destroy();
    const raw = new SQLite(join(dir(), "t.db"), { readonly: true });
    expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
    const tables = raw.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
    expect(tables).toEqual(expect.arrayContaining(["jobs", "job_events", "job_labels", "launchers", "sessions"]));
    raw.close();
  });

  it("makes a new database, its folder and its log readable by their owner only", async () => {
    const path = join(dir(), "data", "t.db");
    const db = await openDatabase(path);
    await inTransaction(db, (tx) => tx.insertInto("coordinator_keys").values({ name: "probe", secret: "x" }).execute());
    const modes = [join(dir(), "data"), path, `${path}-wal`].map((p) => (statSync(p).mode & 0o777).toString(8));
    await db.destroy();
    expect(modes).toEqual(["700", "600", "600"]);
  });

  it("claims with one statement that walks the queue index instead of scanning jobs", async () => {
    const db: Db = await openDatabase(join(dir(), "t.db"));
    const launcher = {
      id: launcherId("h", "n"),
      name: "n",
      hostname: "h",
      labels: JSON.stringify({ gpu: "true" }),
      executors: JSON.stringify(["echo", "claude-code"]),
      max_concurrency: 4,
      version: "t",
      state: 1,
      instance_id: "i",
      register_time: 0,
      lease_expires_at: 0,
      update_time: 0,
      credential_hash: "",
      registered_by: null,
      previous_credential_hash: "",
      reserved_slots: 0,
      reserved_until: null,
    };
    const { sql, parameters } = claimStatement({ launcher, pollId: "p", limit: 4, acceptTimeoutMs: 1000, credentialHash: "" }, 0, "sqlite")
      .compile(db);
    await db.destroy();
    const raw = new SQLite(join(dir(), "t.db"), { readonly: true });
    const plan = raw.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...parameters as unknown[]) as { detail: string }[];
    raw.close();
    const details = plan.map((p) => p.detail);
    // The candidate walk follows the queue index in dispatch order; no step scans the jobs table or sorts.
    expect(details.some((d) => /SCAN j USING INDEX jobs_queue/.test(d))).toBe(true);
    expect(details.filter((d) => /^SCAN (jobs|j|p|r|e)$/.test(d))).toEqual([]);
    expect(details.some((d) => /USE TEMP B-TREE FOR ORDER BY/.test(d))).toBe(false);
    // The LIMIT is written into the text: bound as a parameter (same plan), SQLite evaluated every
    // queued row before limiting, 150 µs per claim at 3,000 queued against 6 µs.
    expect(sql).toMatch(/LIMIT 4\s/);
  });

  it("loses nothing it acknowledged when the coordinator is killed with SIGKILL and restarted", async () => {
    const dbPath = join(dir(), "t.db");
    const first = await startCoordinatorProcess({ dbPath, flags: [] });
    const { jobs } = first;
    const created = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        jobs.createJob({ type: JobType.COMMAND, executor: "echo", projectDir: "/tmp", parameters: { i } })),
    );
    const l = await LauncherDriver.register(first);
    const offer = await l.nextOffer();
    await l.accept(offer);
    await l.append(offer, 0, [{ type: "assistant", text: "halfway" }]);
    first.child.kill("SIGKILL");
    await first.stop();
    expect(first.child.signalCode).toBe("SIGKILL");

    const second = await startCoordinatorProcess({ dbPath, flags: [] });
    try {
      const { jobs: after } = second;
      const listed = (await after.listJobs({ pageSize: 1000 })).jobs;
      expect(new Set(listed.map((j) => j.id))).toEqual(new Set(created.map((c) => c.job!.id)));
      const running = listed.filter((j) => j.state === JobState.RUNNING);
      expect(running.map((j) => j.id)).toEqual([offer.job!.id]);
      expect(listed.filter((j) => j.state === JobState.QUEUED)).toHaveLength(39);
      // The launcher carries on against the restarted coordinator: its credential and fencing token still hold.
      const again = l.via(second);
      await again.append(offer, 1, [{ type: "result", result: "done" }]);
      expect((await again.succeed(offer)).job!.state).toBe(JobState.SUCCEEDED);
      const events = [];
      for await (const m of after.watchJob({ id: offer.job!.id })) if (m.kind.case === "event") events.push(m.kind.value);
      expect(events.map((e) => e.data)).toEqual([{ type: "assistant", text: "halfway" }, { type: "result", result: "done" }]);
    } finally {
      await second.stop();
    }
  });

  it("shuts down gracefully on SIGTERM, answering held polls", async () => {
    const proc = await startCoordinatorProcess({ dbPath: join(dir(), "t.db"), flags: ["--poll-hold", "60s"] });
    const l = await LauncherDriver.register(proc);
    const held = l.poll();
    // The poll is held once the server has had time to receive it; SIGTERM must answer it, not drop it.
    await new Promise((r) => setTimeout(r, 200));
    const stopped = proc.stop();
    expect((await held).offers).toEqual([]);
    await stopped;
    expect(proc.child.exitCode).toBe(0);
    expect(proc.logs.lines.some((line) => line.msg === "shutting down")).toBe(true);
  });
});

describe("SQLite group commit", () => {
  const statements = countSqliteStatements();
  const dir = useTempDir();

  it("commits concurrent transactions together, and a failing one alone fails", async () => {
    const path = join(dir(), "t.db");
    const db = await openDatabase(path);
    await createJob(db, input(0, "taken"), Date.now());
    const commits = statements.count(/^COMMIT$/);
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) => createJob(db, i === 17 ? input(-1, "taken") : input(i + 1), Date.now())),
    );
    // 40 transactions that arrived together took a few fsyncs, not 40.
    expect(statements.count(/^COMMIT$/) - commits).toBeLessThan(10);
    const failed = results.filter((r) => r.status === "rejected");
    expect(failed).toHaveLength(1);
    expect(String((failed[0] as PromiseRejectedResult).reason)).toMatch(/idempotencyKey "taken" was already used/);
    await db.destroy();
    // Every acknowledged job is on disk; the failed one left nothing.
    const raw = new SQLite(path, { readonly: true });
    const params = raw.prepare("SELECT parameters FROM jobs ORDER BY seq").pluck().all() as string[];
    raw.close();
    expect(params.map((p) => (JSON.parse(p) as { i: number }).i).sort((a, b) => a - b))
      .toEqual([0, ...Array.from({ length: 40 }, (_, i) => i + 1).filter((i) => i !== 18)]);
  });

  it("tells of a commit before its caller hears it is durable, and never of a failed one", async () => {
    const db = await openDatabase(join(dir(), "t.db"));
    const heard: string[] = [];
    const write = (id: string, fail: boolean) =>
      inTransaction(db, async (tx) => {
        await tx.insertInto("sessions").values({
          id, name: null, executor: "echo", executor_session_id: null, launcher_id: null, hostname: null,
          project_dir: "/tmp", state: 1, last_job_id: "job-x", result: null, create_time: 0, update_time: 0,
        }).execute();
        if (fail) throw new Error("no");
        return id;
      }, { committed: (value) => heard.push(`committed ${value}`) }).then((value) => heard.push(`durable ${value}`), () => heard.push(`failed ${id}`));
    await Promise.all([write("a", false), write("b", true), write("c", false)]);
    expect(heard).toEqual(["failed b", "committed a", "committed c", "durable a", "durable c"]);
    // The first of a group fails: the others commit without it.
    heard.length = 0;
    await Promise.all([write("d", true), write("e", false), write("f", false)]);
    expect(heard).toEqual(["failed d", "committed e", "committed f", "durable e", "durable f"]);
    const { rows } = await sql<{ id: string }>`SELECT id FROM sessions ORDER BY id`.execute(db);
    expect(rows.map((r) => r.id)).toEqual(["a", "c", "e", "f"]);
    await db.destroy();
  });
});

describe("SQLite WAL checkpoints", () => {
  const dir = useTempDir();
  const frameBytes = 4096 + 24;

  it("checkpoints in a worker thread, never in a commit, and starts the log over under sustained writes", async () => {
    const path = join(dir(), "t.db");
    const restartFrames = 300;
    const db = await openDatabase(path, { checkpoints: { intervalMs: 20, restartFrames } });
    // The coordinator's connection never checkpoints inside a commit.
    const { rows } = await sql<{ wal_autocheckpoint: number }>`PRAGMA wal_autocheckpoint`.execute(db);
    expect(rows[0]!.wal_autocheckpoint).toBe(0);
    const dbBytes = statSync(path).size;
    // Four writers that never pause for long: checkpoints beside them (one every 20 ms) seldom find the
    // log fully copied, so it cannot start over on its own (it grew to about 5,000 frames here without
    // the restart).
    const count = 3000;
    let next = 0;
    let maxWal = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < count) {
        await createJob(db, input(next++), Date.now());
        maxWal = Math.max(maxWal, statSync(`${path}-wal`).size);
      }
    }));
    // Pages reached the database file: only a checkpoint writes there.
    expect(statSync(path).size).toBeGreaterThan(dbBytes);
    // The writes waited for a checkpoint that started the log over: a few hundred frames past the mark.
    expect(maxWal).toBeLessThan(4 * restartFrames * frameBytes);
    await db.destroy();
    const raw = new SQLite(path, { readonly: true });
    expect(raw.prepare("SELECT count(*) FROM jobs").pluck().get()).toBe(count);
    raw.close();
  });

  it("stops, and says so once, when the worker cannot checkpoint", async () => {
    const failures: Error[] = [];
    const checkpointer = new WalCheckpointer(join(dir(), "missing.db"), (e) => failures.push(e), { intervalMs: 0 });
    checkpointer.committed();
    await vi.waitFor(() => expect(failures).toHaveLength(1));
    expect(String(failures[0])).toMatch(/unable to open database file|does not exist/);
    checkpointer.committed();
    expect(checkpointer.restartDue).toBe(false);
    await new Promise((r) => setTimeout(r, 50));
    expect(failures).toHaveLength(1);
  });
});
