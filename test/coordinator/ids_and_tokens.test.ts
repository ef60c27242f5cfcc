import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hashSecret, newApiToken, newLauncherCredential, parseBearer, sameHash } from "../../coordinator/auth/secrets.ts";
import { FencingTokens } from "../../coordinator/domain/fencing_tokens.ts";
import { launcherId, newId } from "../../coordinator/domain/ids.ts";

describe("ids", () => {
  it("carry 80 random bits: 16 base-32 characters after 10 of time, each taking every one of its 32 values", () => {
    const ids = Array.from({ length: 4_000 }, () => newId("job", 0));
    const random = ids.map((id) => id.slice("job_".length + 10));
    expect(new Set(random.map((r) => r.length))).toEqual(new Set([16]));
    expect(new Set(random).size).toBe(ids.length);
    for (let position = 0; position < 16; position++) {
      // 4,000 draws of 32 values: a value missing from a position would mean fewer bits than claimed.
      expect(new Set(random.map((r) => r[position])).size, `position ${position}`).toBe(32);
    }
  });
});

describe("bearer secrets", () => {
  it("are 256 random bits behind a prefix, parsed by shape, and compared by hash", () => {
    const token = newApiToken();
    expect(token).toMatch(/^tth_[A-Za-z0-9_-]{43}$/);
    expect(parseBearer(token)).toEqual({ kind: "api-token", hash: hashSecret(token) });
    const credential = newLauncherCredential(launcherId("host", "name"));
    expect(parseBearer(credential)).toMatchObject({ kind: "launcher", launcherId: launcherId("host", "name") });
    for (const bad of ["", "tth_short", `tth_${"a".repeat(44)}`, `thl_lnch_nope.${"a".repeat(43)}`, `Bearer ${token}`]) {
      expect(parseBearer(bad), bad).toBeNull();
    }
    expect(sameHash(hashSecret(token), hashSecret(token))).toBe(true);
    expect(sameHash(hashSecret(token), hashSecret(newApiToken()))).toBe(false);
    expect(sameHash(hashSecret(token), "")).toBe(false);
  });
});

describe("fencing tokens", () => {
  const tokens = new FencingTokens(randomBytes(32));

  it("stand for the epoch they were issued for, of the job they were issued for, under this key only", () => {
    const token = tokens.issue("job_a", 7);
    expect(token).toMatch(/^7\.[A-Za-z0-9_-]{22}$/);
    expect(tokens.epochOf("job_a", token)).toBe(7);
    expect(tokens.epochOf("job_b", token)).toBe(-1);
    expect(tokens.epochOf("job_a", token.replace(/^7\./, "8."))).toBe(-1);
    expect(tokens.epochOf("job_a", "7")).toBe(-1);
    expect(tokens.epochOf("job_a", `7.${"A".repeat(22)}`)).toBe(-1);
    expect(new FencingTokens(randomBytes(32)).epochOf("job_a", token)).toBe(-1);
  });

  it("refuse a key shorter than 256 bits", () => {
    expect(() => new FencingTokens(randomBytes(16))).toThrow(/at least 256 bits/);
  });
});
