// Path arithmetic without Deno or Node APIs, so the config and permission
// modules run unchanged under `deno run` and under Node (the npm scripts).
// Paths follow the host's own rules: on Linux and macOS a backslash is an
// ordinary character of a file name, not a separator, so "a\..\b" names one
// entry and must never be read as a way out of a directory.

/** Whose rules a path follows: "/" only, or Windows's "\" and "/" with drive letters and UNC shares. */
export type PathStyle = "posix" | "windows";

/** The rules of the host this code runs on, under Deno or Node. */
export function hostPathStyle(): PathStyle {
  const runtime = globalThis as { Deno?: { build?: { os?: string } }; process?: { platform?: string } };
  const windows = runtime.Deno?.build?.os === "windows" || runtime.process?.platform === "win32";
  return windows ? "windows" : "posix";
}

const separators: Record<PathStyle, RegExp> = { posix: /\/+/, windows: /[\\/]+/ };
const trailingSeparators: Record<PathStyle, RegExp> = { posix: /\/+$/, windows: /[\\/]+$/ };

/** Whether a path is absolute: "/..." on POSIX; also "C:\...", "C:/..." and "\\server\..." on Windows. */
export function isAbsolutePath(path: string, style: PathStyle = hostPathStyle()): boolean {
  if (style === "posix") return path.startsWith("/");
  return path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path) || path.startsWith("\\\\");
}

/** Resolves `path` against the absolute directory `base`, removing "." and "..". */
export function resolvePath(base: string, path: string, style: PathStyle = hostPathStyle()): string {
  const joined = isAbsolutePath(path, style) ? path : `${base.replace(trailingSeparators[style], "")}/${path}`;
  return normalizePath(joined, style);
}

/** Removes "." and ".." segments and doubled separators from an absolute path. */
export function normalizePath(path: string, style: PathStyle = hostPathStyle()): string {
  const windows = style === "windows" && (/^[A-Za-z]:[\\/]/.test(path) || path.startsWith("\\\\"));
  const separator = windows ? "\\" : "/";
  const root = windows ? path.slice(0, path.startsWith("\\\\") ? 2 : 3) : "/";
  const segments: string[] = [];
  for (const segment of path.slice(root.length).split(separators[style])) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  return root.replace(/[\\/]$/, "") + separator + segments.join(separator);
}

/** The directory part of an absolute path. */
export function dirnamePath(path: string, style: PathStyle = hostPathStyle()): string {
  const normalized = normalizePath(path, style);
  const cut = style === "posix"
    ? normalized.lastIndexOf("/")
    : Math.max(normalized.lastIndexOf("/"), normalized.lastIndexOf("\\"));
  return cut <= 0 ? normalized.slice(0, 1) : normalized.slice(0, cut);
}

/** Whether `path` is `root` or lies below it (both absolute and normalized). */
export function isPathInside(path: string, root: string, style: PathStyle = hostPathStyle()): boolean {
  const trimmedRoot = root.replace(trailingSeparators[style], "");
  if (path === trimmedRoot || trimmedRoot === "") return true;
  return path.startsWith(trimmedRoot + "/") || (style === "windows" && path.startsWith(trimmedRoot + "\\"));
}
