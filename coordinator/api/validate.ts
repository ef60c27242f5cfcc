import type { DescEnum, JsonObject } from "@bufbuild/protobuf";
import type { Duration } from "@bufbuild/protobuf/wkt";
import { invalidArgument } from "../domain/errors.ts";

/** Checks shared by every request. Each throws INVALID_ARGUMENT naming the field and what to send. */

export function requireText(value: string, field: string, maxLength = 256): string {
  if (value === "") throw invalidArgument(`${field} is required`);
  return checkText(value, field, maxLength);
}

export function checkText(value: string, field: string, maxLength = 256): string {
  if (value.length > maxLength) throw invalidArgument(`${field} must be at most ${maxLength} characters long`);
  if (value.includes("\u0000")) throw invalidArgument(`${field} must not contain NUL characters`);
  return value;
}

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** An executor or launcher name: letters, digits, ".", "_", "-"; at most 64. */
export function requireName(value: string, field: string): string {
  requireText(value, field, 64);
  if (!namePattern.test(value)) {
    throw invalidArgument(`${field} "${value}" must start with a letter or digit and use only letters, digits, ".", "_" or "-"`);
  }
  return value;
}

const labelKeyPattern = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;

/** Labels: at most 64, keys like "gpu" or "example.com/os", values up to 256 characters. */
export function checkLabels(labels: Record<string, string>, field: string): Record<string, string> {
  const entries = Object.entries(labels);
  if (entries.length > 64) throw invalidArgument(`${field} may hold at most 64 labels`);
  for (const [key, value] of entries) {
    if (!labelKeyPattern.test(key)) {
      throw invalidArgument(
        `${field} key "${key.slice(0, 64)}" must start with a letter or digit and use only letters, digits, ".", "_", "/" or "-" (at most 63)`,
      );
    }
    checkText(value, `${field}["${key}"]`);
  }
  return labels;
}

export function checkMetadata(metadata: Record<string, string>, field: string): Record<string, string> {
  const entries = Object.entries(metadata);
  if (entries.length > 64) throw invalidArgument(`${field} may hold at most 64 entries`);
  for (const [key, value] of entries) {
    requireText(key, `${field} key`, 128);
    checkText(value, `${field}["${key}"]`, 4096);
  }
  return metadata;
}

/** A JSON object from the wire: bounded in size and nesting. */
export function checkJsonObject(value: JsonObject | undefined, field: string, maxBytes: number): JsonObject {
  const object = value ?? {};
  const depth = nesting(object, 0);
  if (depth > 32) throw invalidArgument(`${field} nests deeper than 32 levels`);
  const bytes = JSON.stringify(object).length;
  if (bytes > maxBytes) throw invalidArgument(`${field} is ${bytes} bytes as JSON; the limit is ${maxBytes}`);
  return object;
}

function nesting(value: unknown, depth: number): number {
  if (depth > 32 || value === null || typeof value !== "object") return depth;
  let max = depth + 1;
  for (const child of Object.values(value)) max = Math.max(max, nesting(child, depth + 1));
  return max;
}

export function checkRange(value: number, field: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(`${field} must be a whole number from ${min} to ${max}; got ${value}`);
  }
  return value;
}

/** A Duration as milliseconds, or null when unset. */
export function durationMs(value: Duration | undefined, field: string, minMs: number, maxMs: number): number | null {
  if (value === undefined) return null;
  const ms = Number(value.seconds) * 1000 + Math.floor(value.nanos / 1e6);
  if (!(ms >= minMs && ms <= maxMs)) {
    throw invalidArgument(`${field} must be from ${minMs / 1000}s to ${maxMs / 1000}s; got ${ms / 1000}s`);
  }
  return ms;
}

/** An enum value the proto defines, other than UNSPECIFIED unless allowed. */
export function checkEnum<E extends number>(value: E, desc: DescEnum, field: string, allowUnspecified = false): E {
  if (desc.value[value] === undefined || (!allowUnspecified && value === 0)) {
    const choices = desc.values.filter((v) => v.number > 0).map((v) => v.name).join(", ");
    throw invalidArgument(`${field} must be one of ${choices}; got ${value}`);
  }
  return value;
}

/** An absolute path on the launcher's host (POSIX or Windows). */
export function checkAbsolutePath(value: string, field: string): string {
  checkText(value, field, 4096);
  if (!value.startsWith("/") && !/^[A-Za-z]:[\\/]/.test(value)) {
    throw invalidArgument(`${field} must be an absolute path such as /home/me/repo; got "${value.slice(0, 200)}"`);
  }
  return value;
}

/** A filter of enum values: each defined and not UNSPECIFIED, at most one of each. */
export function checkEnumFilter<E extends number>(values: E[], desc: DescEnum, field: string): E[] {
  if (values.length > desc.values.length) {
    throw invalidArgument(`${field} may list each of the ${desc.values.length - 1} values at most once`);
  }
  return [...new Set(values.map((v, i) => checkEnum(v, desc, `${field}[${i}]`)))];
}

/** A page size: default 100, at most 1000. */
export function pageSize(value: number, field = "pageSize"): number {
  if (value === 0) return 100;
  return checkRange(value, field, 1, 1000);
}

/**
 * The token of the page after `rows`: the cursor of its last row, when the
 * page is full (`more`); empty on the last page.
 */
export function nextPageToken<R>(rows: readonly R[], more: boolean, cursorOf: (last: R) => object): string {
  const last = rows.at(-1);
  return more && last !== undefined ? encodePageToken(cursorOf(last)) : "";
}

export function encodePageToken(cursor: object): string {
  return Buffer.from(JSON.stringify(cursor)).toString("base64url");
}

export function decodePageToken<T>(token: string, isValid: (v: unknown) => v is T): T | null {
  if (token === "") return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(token, "base64url").toString());
    if (isValid(value)) return value;
  } catch {
    // falls through to the error below
  }
  throw invalidArgument("pageToken is not one this server issued; pass nextPageToken from the previous page");
}

/**
 * An executor's own session id, as a launcher reports it: empty (none), or
 * an id of letters, digits, ".", "_", ":" and "-" that does not begin with
 * "-", so that no executor can mistake it for an option (Claude Code's are
 * UUIDs; its launcher checks that shape again before it resumes one).
 */
export function checkExecutorSessionId(value: string, field: string): string | null {
  if (value === "") return null;
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(value)) {
    throw invalidArgument(
      `${field} must be an id of 1-128 letters, digits, ".", "_", ":" or "-", not beginning with "-" ` +
        `(Claude Code's are UUIDs); got ${JSON.stringify(value.slice(0, 64))}`,
    );
  }
  return value;
}
