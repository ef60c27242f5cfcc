import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { issueToken } from "./auth/issue_token.ts";
import { roleFromName, roleName } from "./auth/principal.ts";
import { hashSecret, parseBearer } from "./auth/secrets.ts";
import { defaults, parseDuration } from "./config.ts";
import { errorText } from "./log.ts";
import { tokenState } from "./domain/token_state.ts";
import { findToken } from "./storage/find_token.ts";
import { listTokens } from "./storage/list_tokens.ts";
import { revokeToken } from "./storage/revoke_token.ts";
import { type Db, openDatabase } from "./storage/db/open_database.ts";

export const tokensUsage = `Usage: npm run coordinator -- tokens <command> [flags]

Works on the database directly (SQLite file or postgres:// URL), with or
without a coordinator running: this is how the first admin token is made,
and how a lost one is recovered.

  tokens create --role <admin|client|launcher-registration> --name <name> [--ttl 30d] [--out <file>]
      Prints the new token once (or writes it to <file>, mode 0600). Only its hash is stored.
  tokens ensure --role <role> --name <name> --out <file>
      Leaves <file> alone when it holds a working token of that role; else makes one and writes
      it there, revoking a token of the same name whose secret was lost. (npm start uses this.)
  tokens list [--all]
      The tokens that work (--all: revoked and expired ones too), without secrets.
  tokens revoke <id>
      Stops a token from working, from its next request on.

  --db <path or URL>    the database (TETHER_DB; default ${defaults.db})`;

/** Runs `tokens ...`; returns the exit code. Output goes to `out` (results) and `err` (what happened). */
export async function runTokensCommand(
  argv: string[],
  env: Record<string, string | undefined>,
  io: { out: (text: string) => void; err: (text: string) => void; now: () => number },
): Promise<number> {
  let parsed;
  try {
    parsed = parseTokensArgs(argv);
  } catch (error) {
    io.err(`${errorText(error)}\n\n${tokensUsage}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || command === undefined) {
    io.out(`${tokensUsage}\n`);
    return command === undefined && !values.help ? 2 : 0;
  }
  let db;
  try {
    db = await openDatabase(values.db ?? env.TETHER_DB ?? defaults.db);
  } catch (error) {
    io.err(`${errorText(error)}\n`);
    return 1;
  }
  try {
    return await run(db, command, rest, values, io);
  } catch (error) {
    io.err(`${errorText(error)}\n${error instanceof UsageError ? `\n${tokensUsage}\n` : ""}`);
    return error instanceof UsageError ? 2 : 1;
  } finally {
    await db.destroy();
  }
}

function parseTokensArgs(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      db: { type: "string" },
      role: { type: "string" },
      name: { type: "string" },
      ttl: { type: "string" },
      out: { type: "string" },
      all: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
}

async function run(
  db: Db,
  command: string,
  rest: string[],
  values: ReturnType<typeof parseTokensArgs>["values"],
  io: { out: (text: string) => void; err: (text: string) => void; now: () => number },
): Promise<number> {
  const now = io.now();
  if (command === "create" || command === "ensure") {
    const role = roleFromName(values.role ?? "");
    if (role === undefined) throw new UsageError("--role must be admin, client or launcher-registration");
    if (!values.name) throw new UsageError("--name is required");
    const ttlMs = values.ttl === undefined ? null : parseDuration(values.ttl);
    if (ttlMs === undefined || (ttlMs !== null && ttlMs < 1_000)) {
      throw new UsageError(`--ttl must be a duration such as "12h" or "30d", at least 1s; got "${values.ttl}"`);
    }
    if (command === "ensure") {
      if (!values.out) throw new UsageError("tokens ensure needs --out <file>");
      const held = existsSync(values.out) ? readFileSync(values.out, "utf8").trim() : "";
      const current = parseBearer(held)?.kind === "api-token" ? await findToken(db, hashSecret(held)) : undefined;
      if (current && current.role === role && tokenState(current, now) === "active") {
        io.err(`${values.out} holds a working ${roleName(role)} token ("${current.name}", ${current.id})\n`);
        return 0;
      }
      const lost = (await listTokens(db, false, now)).find((t) => t.name === values.name);
      if (lost) {
        await revokeToken(db, lost.id, now);
        io.err(`revoked token "${lost.name}" (${lost.id}): its secret is not in ${values.out}\n`);
      }
    }
    const { token, secret } = await issueToken(db, { name: values.name, role, ttlMs }, now);
    const what = `${roleName(role)} token "${token.name}" (${token.id})` +
      (token.expire_time === null ? "" : `, expiring ${new Date(token.expire_time).toISOString()}`);
    if (values.out) {
      writeSecretFile(values.out, `${secret}\n`);
      io.err(`created ${what}; wrote it to ${values.out} (mode 0600): it is shown nowhere else\n`);
    } else {
      io.err(`created ${what}; it is shown only now, keep it safe:\n`);
      io.out(`${secret}\n`);
    }
    return 0;
  }
  if (command === "list") {
    for (const t of await listTokens(db, values.all ?? false, now)) {
      const state = tokenState(t, now);
      const expires = t.expire_time === null ? "never" : new Date(t.expire_time).toISOString();
      io.out(`${t.id}  ${roleName(t.role).padEnd(21)}  ${state.padEnd(7)}  expires ${expires}  ${t.name}\n`);
    }
    return 0;
  }
  if (command === "revoke") {
    if (rest.length !== 1) throw new UsageError("tokens revoke takes one token id (tokens list shows them)");
    const token = await revokeToken(db, rest[0]!, now);
    io.err(`revoked token "${token.name}" (${token.id})\n`);
    return 0;
  }
  throw new UsageError(`unknown command "tokens ${command}"`);
}

/**
 * Writes a secret to `path`, readable by its owner only, whatever was there:
 * a new file (mode 0600 from its first byte) renamed over the old one.
 */
function writeSecretFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const fresh = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  writeFileSync(fresh, text, { mode: 0o600, flag: "wx" });
  renameSync(fresh, path);
}

class UsageError extends Error {}
