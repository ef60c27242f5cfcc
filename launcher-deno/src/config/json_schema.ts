// A small, strict subset of JSON Schema for executor parameters. A schema
// using a keyword outside the subset is refused when the config loads, so a
// profile never looks validated when it is not.

/** A JSON value as JSON.parse returns it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A parameter schema in the supported subset. */
export interface JsonSchema {
  readonly type?: SchemaType | readonly SchemaType[];
  readonly description?: string;
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | JsonSchema;
  readonly items?: JsonSchema;
  readonly enum?: readonly JsonValue[];
  readonly const?: JsonValue;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
}

type SchemaType = "null" | "boolean" | "number" | "integer" | "string" | "array" | "object";

const schemaTypes = new Set(["null", "boolean", "number", "integer", "string", "array", "object"]);
const numberKeywords = ["minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems"] as const;
const knownKeywords = new Set([
  "$schema",
  "title",
  "description",
  "default",
  "examples",
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "enum",
  "const",
  "pattern",
  ...numberKeywords,
]);

/**
 * Checks that `value` is a schema in the supported subset and returns it.
 * Throws an Error whose message names the offending place, starting at `at`.
 */
export function compileSchema(value: unknown, at: string): JsonSchema {
  if (!isObject(value)) throw new Error(`${at} must be a JSON Schema object`);
  for (const key of Object.keys(value)) {
    if (!knownKeywords.has(key)) {
      throw new Error(
        `${at} uses the keyword "${key}", which the launcher does not support; ` +
          `supported: ${[...knownKeywords].join(", ")}`,
      );
    }
  }
  const types = value.type === undefined ? [] : Array.isArray(value.type) ? value.type : [value.type];
  for (const type of types) {
    if (typeof type !== "string" || !schemaTypes.has(type)) {
      throw new Error(`${at}.type must be one of ${[...schemaTypes].join(", ")}; got ${JSON.stringify(type)}`);
    }
  }
  for (const key of numberKeywords) {
    if (value[key] !== undefined && typeof value[key] !== "number") throw new Error(`${at}.${key} must be a number`);
  }
  if (value.pattern !== undefined) {
    if (typeof value.pattern !== "string") throw new Error(`${at}.pattern must be a string`);
    try {
      new RegExp(value.pattern, "u");
    } catch (err) {
      throw new Error(`${at}.pattern is not a valid regular expression: ${(err as Error).message}`);
    }
  }
  if (value.required !== undefined && !isStringArray(value.required)) {
    throw new Error(`${at}.required must be an array of property names`);
  }
  if (value.enum !== undefined && !Array.isArray(value.enum)) throw new Error(`${at}.enum must be an array`);
  if (value.properties !== undefined) {
    if (!isObject(value.properties)) throw new Error(`${at}.properties must be an object`);
    for (const [name, sub] of Object.entries(value.properties)) compileSchema(sub, `${at}.properties.${name}`);
  }
  if (value.items !== undefined) compileSchema(value.items, `${at}.items`);
  if (value.additionalProperties !== undefined && typeof value.additionalProperties !== "boolean") {
    compileSchema(value.additionalProperties, `${at}.additionalProperties`);
  }
  return value as JsonSchema;
}

/** Every way `value` breaks `schema`, each as "where: what"; empty when it conforms. */
export function validateJson(schema: JsonSchema, value: unknown, at = "parameters"): string[] {
  const errors: string[] = [];
  if (schema.type !== undefined) {
    const types = (Array.isArray(schema.type) ? schema.type : [schema.type]) as SchemaType[];
    if (!types.some((type) => hasType(value, type))) {
      return [`${at}: must be ${types.join(" or ")}, got ${typeName(value)}`];
    }
  }
  if (schema.const !== undefined && !jsonEqual(schema.const, value)) {
    errors.push(`${at}: must be ${JSON.stringify(schema.const)}`);
  }
  if (schema.enum !== undefined && !schema.enum.some((option) => jsonEqual(option, value))) {
    errors.push(`${at}: must be one of ${schema.enum.map((option) => JSON.stringify(option)).join(", ")}`);
  }
  if (typeof value === "string") {
    const length = [...value].length;
    if (schema.minLength !== undefined && length < schema.minLength) {
      errors.push(`${at}: must have at least ${schema.minLength} characters`);
    }
    if (schema.maxLength !== undefined && length > schema.maxLength) {
      errors.push(`${at}: must have at most ${schema.maxLength} characters`);
    }
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, "u").test(value)) {
      errors.push(`${at}: must match /${schema.pattern}/`);
    }
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) {
      errors.push(`${at}: must be at least ${schema.minimum}`);
    }
    if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${at}: must be at most ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      errors.push(`${at}: must have at least ${schema.minItems} items`);
    }
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      errors.push(`${at}: must have at most ${schema.maxItems} items`);
    }
    if (schema.items) value.forEach((item, i) => errors.push(...validateJson(schema.items!, item, `${at}[${i}]`)));
  }
  if (isObject(value)) {
    // Own properties only, on both sides: a name such as "constructor" or
    // "__proto__" must not find a schema, or a value, on Object.prototype.
    for (const name of schema.required ?? []) {
      if (!Object.hasOwn(value, name)) errors.push(`${at}.${name}: is required`);
    }
    for (const [name, item] of Object.entries(value)) {
      const property = schema.properties && Object.hasOwn(schema.properties, name)
        ? schema.properties[name]
        : undefined;
      if (property) errors.push(...validateJson(property, item, `${at}.${name}`));
      else if (schema.additionalProperties === false) {
        const known = Object.keys(schema.properties ?? {});
        errors.push(`${at}.${name}: is not allowed (allowed: ${known.join(", ") || "none"})`);
      } else if (typeof schema.additionalProperties === "object") {
        errors.push(...validateJson(schema.additionalProperties, item, `${at}.${name}`));
      }
    }
  }
  return errors;
}

function hasType(value: unknown, type: SchemaType): boolean {
  switch (type) {
    case "null":
      return value === null;
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "array":
      return Array.isArray(value);
    case "object":
      return isObject(value);
    case "boolean":
      return typeof value === "boolean";
    case "number":
      return typeof value === "number";
    case "string":
      return typeof value === "string";
  }
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}
