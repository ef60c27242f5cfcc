import { describe, expect, it } from "vitest";
import {
  dirnamePath,
  hostPathStyle,
  isAbsolutePath,
  isPathInside,
  normalizePath,
  resolvePath,
} from "../../launcher-deno/src/host/paths.ts";
import { resolveProjectDir } from "../../launcher-deno/src/host/project_dir.ts";

describe("paths on Linux and macOS", () => {
  it("are the host's rules here", () => {
    expect(hostPathStyle()).toBe(process.platform === "win32" ? "windows" : "posix");
  });

  it("treat a backslash as part of a name, so '..\\' climbs nowhere", () => {
    expect(normalizePath("/srv/repos/a\\..\\..\\etc", "posix")).toBe("/srv/repos/a\\..\\..\\etc");
    expect(resolvePath("/srv/repos", "..\\etc", "posix")).toBe("/srv/repos/..\\etc");
    expect(isPathInside("/srv/repos/..\\etc", "/srv/repos", "posix")).toBe(true);
    expect(dirnamePath("/srv/repos/a\\b", "posix")).toBe("/srv/repos");
  });

  it("count only '/' as a root: a backslash or drive letter is a relative name", () => {
    expect(isAbsolutePath("\\\\server\\share", "posix")).toBe(false);
    expect(isAbsolutePath("C:\\repo", "posix")).toBe(false);
    expect(isAbsolutePath("/srv/repo", "posix")).toBe(true);
    expect(resolvePath("/etc/tether", "C:\\repo", "posix")).toBe("/etc/tether/C:\\repo");
  });

  it("do not let a root ending in a backslash match a sibling", () => {
    expect(isPathInside("/srv/repos\\other", "/srv/repos\\", "posix")).toBe(false);
    expect(isPathInside("/srv/repos-other", "/srv/repos", "posix")).toBe(false);
    expect(isPathInside("/srv/repos/a", "/srv/repos/", "posix")).toBe(true);
  });

  it.skipIf(process.platform === "win32")("keep a backslash project dir inside its root, resolved as the one name it is", async () => {
    const seen: string[] = [];
    const probe = {
      realPath: (p: string) => {
        seen.push(p);
        return Promise.resolve(p);
      },
      isDirectory: () => Promise.resolve(true),
    };
    expect(await resolveProjectDir("/srv/repos/a\\..\\..", ["/srv/repos"], probe)).toBe("/srv/repos/a\\..\\..");
    expect(seen[0]).toBe("/srv/repos/a\\..\\..");
    // "..\repos" is one entry of /srv/other, not a way back into /srv/repos.
    await expect(resolveProjectDir("/srv/other/..\\repos", ["/srv/repos"], probe)).rejects.toThrow(
      'The project dir "/srv/other/..\\repos" is outside the launcher\'s allowed project roots (/srv/repos)',
    );
  });
});

describe("paths on Windows", () => {
  it("keep both separators, drive letters and UNC shares", () => {
    expect(isAbsolutePath("C:\\repo", "windows")).toBe(true);
    expect(isAbsolutePath("C:/repo", "windows")).toBe(true);
    expect(isAbsolutePath("\\\\server\\share", "windows")).toBe(true);
    expect(normalizePath("C:\\repos\\a\\..\\b/./c", "windows")).toBe("C:\\repos\\b\\c");
    expect(resolvePath("C:\\etc\\tether", "..\\repos", "windows")).toBe("C:\\etc\\repos");
    expect(dirnamePath("C:\\repos\\a", "windows")).toBe("C:\\repos");
    expect(isPathInside("C:\\repos\\a", "C:\\repos\\", "windows")).toBe(true);
    expect(isPathInside("C:\\repos-other", "C:\\repos", "windows")).toBe(false);
  });
});
