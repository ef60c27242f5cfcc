import { claudeCodeAgentArgs, claudeCodeAgentFields } from "../executors/claude_code_agent.ts";
import {
  claudeCodeRuleFields,
  type ClaudeCodeRules,
  parseClaudeCodeRules,
  refuseClaudeCodeRules,
} from "../executors/claude_code_rules.ts";
import { defaultParametersSchema, type ExecutorKind, executorKinds } from "../executors/executor_kinds.ts";
import { dirnamePath, isAbsolutePath, resolvePath } from "../host/paths.ts";
import {
  boolean,
  command,
  ConfigError,
  deepFreeze,
  duration,
  envName,
  envValues,
  knownFields,
  object,
  schema,
  string,
  stringArray,
} from "./config_fields.ts";
import { type CoordinatorAccess, coordinatorAccessFields, parseCoordinatorAccess } from "./coordinator_access.ts";
import type { JsonSchema } from "./json_schema.ts";

// The launcher's config file, compiled once into a frozen object with
// millisecond numbers and absolute paths. Pure: no Deno or Node API, so the
// npm scripts compute the permission flags from the very same code.

/** One executor profile: which program runs a job, with what it may see. */
export interface ExecutorProfile {
  readonly name: string;
  readonly kind: ExecutorKind;
  /** The program and its fixed arguments; empty for the in-process `echo`. */
  readonly argv: readonly string[];
  /** Host environment variables passed through to the executor, by name. */
  readonly env: readonly string[];
  /** Variables set for the executor with fixed values (the host's are not read for them). */
  readonly setEnv: Readonly<Record<string, string>>;
  readonly parametersSchema?: JsonSchema;
  /** How long after SIGINT before SIGTERM. */
  readonly interruptGraceMs: number;
  /** How long after SIGTERM before SIGKILL. */
  readonly terminateGraceMs: number;
  /** The longest one attempt may run; a job's own shorter timeout wins. */
  readonly timeoutMs?: number;
  /** Leave the profile out, rather than refuse to start, when its program is missing. */
  readonly optional: boolean;
  /** For kind claude-code: the permission modes, models and tools a job may ask for. */
  readonly claudeCode?: ClaudeCodeRules;
}

/** The bounds on what one job may write. */
export interface OutputLimits {
  /** Bytes of stdout events per attempt before a truncation marker. */
  readonly maxBytes: number;
  /** The largest single event; a longer JSON line has its longest strings cut to fit (see fit_event.ts). */
  readonly maxEventBytes: number;
  /** How much of stderr's end is kept for the failure report. */
  readonly stderrTailBytes: number;
}

/** With the coordinator's URL, CA, token source and allowInsecureHttp from CoordinatorAccess. */
export interface LauncherConfig extends CoordinatorAccess {
  /** The config file's absolute path. */
  readonly configPath: string;
  readonly name: string;
  /** The host name to register with; the OS's when unset. */
  readonly hostname?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly maxConcurrency: number;
  /** Absolute directories that job project dirs must lie inside. */
  readonly projectRoots: readonly string[];
  /** The program that signals a process group ("kill", "taskkill" on Windows). */
  readonly killCommand: string;
  readonly output: OutputLimits;
  readonly executors: readonly ExecutorProfile[];
}

export const defaultOutputLimits: OutputLimits = Object.freeze({
  maxBytes: 16 * 1024 * 1024,
  maxEventBytes: 1024 * 1024,
  stderrTailBytes: 8 * 1024,
});

const defaultInterruptGraceMs = 10_000;
const defaultTerminateGraceMs = 5_000;

/**
 * Compiles the text of a config file into a frozen LauncherConfig. Relative
 * paths resolve against the file's directory. `os` picks the default kill
 * command. Throws ConfigError naming the first bad field.
 */
export function parseLauncherConfig(
  text: string,
  configPath: string,
  options: { os?: string } = {},
): LauncherConfig {
  if (!isAbsolutePath(configPath)) throw new ConfigError(`config path must be absolute; got "${configPath}"`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${configPath} is not valid JSON: ${(err as Error).message}`);
  }
  const at = (field: string) => `${configPath}: ${field}`;
  const root = object(raw, at("the top level"));
  knownFields(root, at("the top level"), [
    "$comment",
    ...coordinatorAccessFields,
    "name",
    "hostname",
    "labels",
    "maxConcurrency",
    "projectRoots",
    "killCommand",
    "output",
    "executors",
  ]);
  const baseDir = dirnamePath(configPath);

  const access = parseCoordinatorAccess(root, at, baseDir);

  const name = string(root.name, at("name"));
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) {
    throw new ConfigError(`${at("name")} must be 1-63 letters, digits, ".", "_" or "-"; got "${name}"`);
  }
  const hostname = root.hostname === undefined ? undefined : string(root.hostname, at("hostname"));
  const labels = root.labels === undefined ? {} : object(root.labels, at("labels"));
  for (const [key, value] of Object.entries(labels)) string(value, at(`labels.${key}`));

  const maxConcurrency = root.maxConcurrency === undefined ? 1 : root.maxConcurrency;
  if (!Number.isInteger(maxConcurrency) || (maxConcurrency as number) < 1 || (maxConcurrency as number) > 1000) {
    throw new ConfigError(
      `${at("maxConcurrency")} must be a whole number from 1 to 1000; got ${JSON.stringify(maxConcurrency)}`,
    );
  }

  if (!Array.isArray(root.projectRoots) || root.projectRoots.length === 0) {
    throw new ConfigError(`${at("projectRoots")} must list at least one directory that jobs may run in`);
  }
  const projectRoots = root.projectRoots.map((item, i) => resolvePath(baseDir, string(item, at(`projectRoots[${i}]`))));

  const killCommand = root.killCommand === undefined
    ? (options.os === "windows" ? "taskkill" : "kill")
    : command(string(root.killCommand, at("killCommand")), baseDir);

  const output = parseOutput(root.output, at("output"));
  const executorsRaw = object(root.executors, at("executors"));
  const executors = Object.entries(executorsRaw).map(([name, value]) =>
    parseProfile(name, value, at(`executors.${name}`), baseDir)
  );
  if (executors.length === 0) throw new ConfigError(`${at("executors")} must define at least one executor profile`);

  return deepFreeze({
    configPath,
    ...access,
    name,
    hostname,
    labels,
    maxConcurrency: maxConcurrency as number,
    projectRoots,
    killCommand,
    output,
    executors,
  } as LauncherConfig);
}

function parseProfile(name: string, value: unknown, at: string, baseDir: string): ExecutorProfile {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) {
    throw new ConfigError(`${at}: a profile name must be 1-63 letters, digits, ".", "_" or "-"`);
  }
  const raw = object(value, at);
  knownFields(raw, at, [
    "$comment",
    "kind",
    "command",
    "args",
    "argv",
    "env",
    "setEnv",
    "parametersSchema",
    "grace",
    "timeout",
    "optional",
    ...claudeCodeRuleFields,
    ...claudeCodeAgentFields,
  ]);
  const kind = string(raw.kind, `${at}.kind`);
  if (!executorKinds.includes(kind as ExecutorKind)) {
    throw new ConfigError(`${at}.kind must be one of ${executorKinds.join(", ")}; got "${kind}"`);
  }
  let argv: string[] = [];
  if (kind === "claude-code") {
    if (raw.argv !== undefined) throw new ConfigError(`${at}.argv is for kind "command"; use "command" and "args"`);
    const args = raw.args === undefined ? [] : stringArray(raw.args, `${at}.args`);
    const program = command(raw.command === undefined ? "claude" : string(raw.command, `${at}.command`), baseDir);
    argv = [program, ...args, ...claudeCodeAgentArgs(raw, at, baseDir)];
  } else if (kind === "command") {
    if (raw.command !== undefined || raw.args !== undefined) {
      throw new ConfigError(`${at}: kind "command" takes "argv" (the program and its arguments), not "command"/"args"`);
    }
    const [program, ...args] = stringArray(raw.argv, `${at}.argv`);
    if (program === undefined) throw new ConfigError(`${at}.argv must name the program to run`);
    argv = [command(program, baseDir), ...args];
  } else {
    for (const field of ["command", "args", "argv", "env", "setEnv"]) {
      if (raw[field] !== undefined) throw new ConfigError(`${at}.${field} does not apply: echo runs in-process`);
    }
  }
  const env = raw.env === undefined
    ? []
    : stringArray(raw.env, `${at}.env`).map((item, i) => envName(item, `${at}.env[${i}]`));
  const setEnv = raw.setEnv === undefined ? {} : envValues(raw.setEnv, `${at}.setEnv`);
  for (const name of Object.keys(setEnv)) {
    if (env.includes(name)) {
      throw new ConfigError(`${at}.setEnv.${name}: ${name} is also passed from the host by "env"; keep one`);
    }
  }
  const parametersSchema = raw.parametersSchema === undefined
    ? defaultParametersSchema(kind as ExecutorKind)
    : schema(raw.parametersSchema, `${at}.parametersSchema`);
  if (kind !== "claude-code") refuseClaudeCodeRules(raw, at, kind);
  const claudeCode = kind === "claude-code" ? parseClaudeCodeRules(raw, at) : undefined;
  const grace = raw.grace === undefined ? {} : object(raw.grace, `${at}.grace`);
  knownFields(grace, `${at}.grace`, ["interrupt", "terminate"]);
  return {
    name,
    kind: kind as ExecutorKind,
    argv,
    env: [...new Set(env)],
    setEnv: Object.freeze(setEnv),
    parametersSchema,
    interruptGraceMs: grace.interrupt === undefined
      ? defaultInterruptGraceMs
      : duration(grace.interrupt, `${at}.grace.interrupt`),
    terminateGraceMs: grace.terminate === undefined
      ? defaultTerminateGraceMs
      : duration(grace.terminate, `${at}.grace.terminate`),
    timeoutMs: raw.timeout === undefined ? undefined : duration(raw.timeout, `${at}.timeout`),
    optional: raw.optional === undefined ? false : boolean(raw.optional, `${at}.optional`),
    claudeCode,
  };
}

function parseOutput(value: unknown, at: string): OutputLimits {
  if (value === undefined) return defaultOutputLimits;
  const raw = object(value, at);
  knownFields(raw, at, ["maxBytes", "maxEventBytes", "stderrTailBytes"]);
  const bytes = (field: keyof OutputLimits, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const item = raw[field];
    if (item === undefined) return defaultOutputLimits[field];
    if (!Number.isSafeInteger(item) || (item as number) < min || (item as number) > max) {
      throw new ConfigError(
        `${at}.${field} must be a whole number of bytes from ${min} to ${max}; got ${JSON.stringify(item)}`,
      );
    }
    return item as number;
  };
  const limits = {
    maxBytes: bytes("maxBytes", 1024),
    maxEventBytes: bytes("maxEventBytes", 1024),
    // FinishJob takes an error text of at most 64 Ki characters.
    stderrTailBytes: bytes("stderrTailBytes", 256, 32 * 1024),
  };
  if (limits.maxEventBytes > limits.maxBytes) {
    throw new ConfigError(
      `${at}.maxEventBytes (${limits.maxEventBytes}) must not exceed ${at}.maxBytes (${limits.maxBytes})`,
    );
  }
  return limits;
}
