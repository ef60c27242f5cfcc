import SQLite from "better-sqlite3";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { callerError } from "../../coordinator/api/error_interceptor.ts";
import type { Logger } from "../../coordinator/log.ts";

/** A logger that keeps what it is told (our own seam). */
function keptLog() {
  const lines: { msg: string; fields: Record<string, unknown> }[] = [];
  const keep = (msg: string, fields: Record<string, unknown> = {}) => void lines.push({ msg, fields });
  const log: Logger = { info: keep, warn: keep, error: keep };
  return { log, lines };
}

describe("the error a caller gets for a failure (RPCs, the NDJSON watch, the auth gate)", () => {
  it("passes a deliberate Connect error on as it is, and logs nothing", () => {
    const { log, lines } = keptLog();
    const refusal = new ConnectError("job \"x\" not found", Code.NotFound);
    expect(callerError(refusal, log, { path: "/p" })).toBe(refusal);
    expect(lines).toEqual([]);
  });

  it("turns a full disk into RESOURCE_EXHAUSTED, and logs it as a storage failure", () => {
    const { log, lines } = keptLog();
    const error = callerError(new SQLite.SqliteError("database or disk is full", "SQLITE_FULL"), log, { path: "/p" });
    expect([error.code, error.rawMessage]).toEqual([Code.ResourceExhausted, expect.stringMatching(/database is full/)]);
    expect(lines.map((l) => [l.msg, l.fields.path])).toEqual([["storage failure", "/p"]]);
  });

  it("answers anything else INTERNAL without its text, which only the log gets", () => {
    const { log, lines } = keptLog();
    const error = callerError(new Error("secret detail at /home/me/.ssh"), log, { procedure: "GetJob" });
    expect([error.code, error.rawMessage]).toEqual([Code.Internal, "internal error"]);
    expect(lines).toEqual([{
      msg: "unexpected failure",
      fields: expect.objectContaining({ procedure: "GetJob", error: "secret detail at /home/me/.ssh" }),
    }]);
  });
});
