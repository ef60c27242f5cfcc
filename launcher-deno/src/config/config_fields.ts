import { hostPathStyle, resolvePath } from "../host/paths.ts";
import { parseDuration } from "./duration.ts";
import { compileSchema, type JsonSchema } from "./json_schema.ts";

// The checks config.ts builds the launcher config from. Each throws a
// ConfigError naming the field at fault (`at`).

/** Thrown for a config file that cannot be used; the message names the field. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** A bare program name stays a PATH lookup; a path resolves against the config's directory. */
export function command(value: string, baseDir: string): string {
  if (value === "") throw new ConfigError("a program name must not be empty");
  const path = value.includes("/") || (hostPathStyle() === "windows" && value.includes("\\"));
  return path ? resolvePath(baseDir, value) : value;
}

/** An environment variable name that may be passed to an executor. */
export function envName(value: unknown, at: string): string {
  const name = string(value, at);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new ConfigError(`${at} must be an environment variable name; got "${name}"`);
  }
  // Deno refuses a scoped --allow-run to a process given these (they inject code).
  if (/^(LD_|DYLD_)/.test(name)) {
    throw new ConfigError(`${at}: "${name}" cannot be passed to executors (loader variables are refused)`);
  }
  return name;
}

/** Environment variables with fixed values (`{"NAME": "value"}`), each name as envName takes it. */
export function envValues(value: unknown, at: string): Record<string, string> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ConfigError(`${at} must be an object of variable names to string values`);
  }
  const values: Record<string, string> = {};
  for (const [name, text] of Object.entries(value)) {
    values[envName(name, `${at}.${name}`)] = string(text, `${at}.${name}`);
  }
  return values;
}

/** A duration such as "10s", in milliseconds. */
export function duration(value: unknown, at: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) {
    throw new ConfigError(`${at} must be a duration such as "10s", "1500ms" or "5m"; got ${JSON.stringify(value)}`);
  }
  return ms;
}

/** A parameter schema in the supported subset. */
export function schema(value: unknown, at: string): JsonSchema {
  try {
    return compileSchema(value, at);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

/** A JSON object. */
export function object(value: unknown, at: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(`${at} must be an object`);
  }
  return value as Record<string, unknown>;
}

/** A boolean. */
export function boolean(value: unknown, at: string): boolean {
  if (typeof value !== "boolean") throw new ConfigError(`${at} must be true or false`);
  return value;
}

/** A non-empty string. */
export function string(value: unknown, at: string): string {
  if (typeof value !== "string" || value === "") throw new ConfigError(`${at} must be a non-empty string`);
  return value;
}

/** An array of non-empty strings. */
export function stringArray(value: unknown, at: string): string[] {
  if (!Array.isArray(value)) throw new ConfigError(`${at} must be an array of strings`);
  return value.map((item, i) => string(item, `${at}[${i}]`));
}

/** Refuses fields outside `known`, so a typo is an error rather than a silent default. */
export function knownFields(value: Record<string, unknown>, at: string, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new ConfigError(`${at} has an unknown field "${key}"; known fields: ${known.join(", ")}`);
    }
  }
}

/** Freezes `value` and everything inside it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
