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
 * job's record when it does not.
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
    throw new Error(`The project dir "${projectDir}" cannot be used: ${(err as Error).message}`);
  }
  const realRoots = await Promise.all(roots.map((root) => probe.realPath(root).catch(() => undefined)));
  if (!realRoots.some((root) => root !== undefined && isPathInside(real, root))) {
    throw new Error(`The project dir "${projectDir}" resolves to "${real}", which is outside ${allowed}`);
  }
  if (!await probe.isDirectory(real)) throw new Error(`The project dir "${projectDir}" is not a directory`);
  return real;
}
