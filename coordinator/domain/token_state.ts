import type { ApiTokenRow } from "../storage/db/rows.ts";

/** Whether a token works at `now`: the one rule, which listTokens' SQL repeats (a test holds the two together). */
export function tokenState(row: Pick<ApiTokenRow, "revoke_time" | "expire_time">, now: number): "active" | "revoked" | "expired" {
  if (row.revoke_time !== null) return "revoked";
  return row.expire_time !== null && row.expire_time <= now ? "expired" : "active";
}
