// Path arithmetic without Deno or Node APIs, so the config and permission
// modules run unchanged under `deno run` and under Node (the npm scripts).

/** Whether a path is absolute on POSIX or Windows. */
export function isAbsolutePath(path: string): boolean {
  return path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path) || path.startsWith("\\\\");
}

/** Resolves `path` against the absolute directory `base`, removing "." and "..". */
export function resolvePath(base: string, path: string): string {
  const joined = isAbsolutePath(path) ? path : `${base.replace(/[\\/]+$/, "")}/${path}`;
  return normalizePath(joined);
}

/** Removes "." and ".." segments and doubled separators from an absolute path. */
export function normalizePath(path: string): string {
  const windows = /^[A-Za-z]:[\\/]/.test(path) || path.startsWith("\\\\");
  const separator = windows ? "\\" : "/";
  const root = windows ? path.slice(0, path.startsWith("\\\\") ? 2 : 3) : "/";
  const segments: string[] = [];
  for (const segment of path.slice(root.length).split(/[\\/]+/)) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  return root.replace(/[\\/]$/, "") + separator + segments.join(separator);
}

/** The directory part of an absolute path. */
export function dirnamePath(path: string): string {
  const normalized = normalizePath(path);
  const cut = Math.max(normalized.lastIndexOf("/"), normalized.lastIndexOf("\\"));
  return cut <= 0 ? normalized.slice(0, 1) : normalized.slice(0, cut);
}

/** Whether `path` is `root` or lies below it (both absolute and normalized). */
export function isPathInside(path: string, root: string): boolean {
  const trimmedRoot = root.replace(/[\\/]+$/, "");
  if (path === trimmedRoot || trimmedRoot === "") return true;
  return path.startsWith(trimmedRoot + "/") || path.startsWith(trimmedRoot + "\\");
}
