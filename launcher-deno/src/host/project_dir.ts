import { isAbsolutePath, isPathInside, normalizePath } from "./paths.ts";

/** The file system calls the check needs (Deno's in the launcher). */
export interface DirectoryProbe {
  /** The path with every symlink resolved; throws when it does not exist. */
  realPath(path: string): Promise<string>;
  isDirectory(path: string): Promise<boolean>;
}

/**
 * The real path of a job's project dir, checked to lie inside one of the
 * allowed roots both as written and after resolving symlinks, so a link
 * inside a root cannot lead a job elsewhere. Throws with a message for the
 * job's record when it does not. That record is read by clients, so it names
 * only the dir as the job wrote it and the roots: never where a link points
 * nor a file system error's text (which may quote another path); the real
 * cause rides along as the error's `cause`, for the launcher's own log.
 */
export async function resolveProjectDir(
  projectDir: string,
  roots: readonly string[],
  probe: DirectoryProbe,
): Promise<string> {
  const allowed = `the launcher's allowed project roots (${roots.join(", ")})`;
  if (projectDir === "") throw new Error(`The job names no project dir; it must be a directory inside ${allowed}`);
  if (!isAbsolutePath(projectDir)) throw new Error(`The project dir "${projectDir}" must be an absolute path`);
  const written = normalizePath(projectDir);
  if (!roots.some((root) => isPathInside(written, root))) {
    throw new Error(`The project dir "${projectDir}" is outside ${allowed}`);
  }
  let real: string;
  try {
    real = await probe.realPath(written);
  } catch (err) {
    throw new Error(`The project dir "${projectDir}" cannot be used: ${fileErrorKind(err)}`, { cause: err });
  }
  const realRoots = await Promise.all(roots.map((root) => probe.realPath(root).catch(() => undefined)));
  if (!realRoots.some((root) => root !== undefined && isPathInside(real, root))) {
    throw new Error(`The project dir "${projectDir}" resolves outside ${allowed}`);
  }
  let directory: boolean;
  try {
    directory = await probe.isDirectory(real);
  } catch (err) {
    throw new Error(`The project dir "${projectDir}" cannot be used: ${fileErrorKind(err)}`, { cause: err });
  }
  if (!directory) throw new Error(`The project dir "${projectDir}" is not a directory`);
  return real;
}

/** What went wrong, by kind only: Deno's error name or Node's error code. */
function fileErrorKind(err: unknown): string {
  const { name, code } = (err ?? {}) as { name?: unknown; code?: unknown };
  const kind = typeof code === "string" ? code : typeof name === "string" ? name : "Error";
  if (kind === "NotFound" || kind === "ENOENT") return "it does not exist (or a link in it leads nowhere)";
  if (kind === "PermissionDenied" || kind === "NotCapable" || kind === "EACCES") return "the launcher may not read it";
  return `it cannot be resolved (${kind})`;
}
