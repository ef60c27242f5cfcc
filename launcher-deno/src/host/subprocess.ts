import type { ExecutorProcess, ExitStatus, StopSignal } from "../executors/executor_process.ts";

/** What to start, and where. */
export interface SubprocessSpec {
  readonly argv: readonly string[];
  readonly cwd: string;
  /** The complete environment of the child: nothing else is inherited. */
  readonly env: Readonly<Record<string, string>>;
  /** Written to the child's stdin, which is then closed. */
  readonly stdin: string;
}

/** The host facts the spawner needs. */
export interface SubprocessHost {
  /** Deno.build.os. */
  readonly os: string;
  /** The program that signals a process group: "kill", or "taskkill" on Windows. */
  readonly killCommand: string;
  /** Told about trouble that does not stop the job (an unread stdin, a missing kill). */
  readonly warn: (msg: string, fields?: Record<string, unknown>) => void;
}

/**
 * Starts an executor as its own process group. Deno.Command has no setsid
 * option, but `detached: true` calls setsid(2) on Unix, so the child leads a
 * new session and process group whose id is its pid. Deno.kill() on a
 * negative pid would need an unscoped --allow-run, so the group is signalled
 * through the listed kill program (`kill -s INT -- -PGID`); on Windows,
 * `taskkill /T` ends the process tree. Throws when the program cannot start.
 */
export function spawnSubprocess(spec: SubprocessSpec, host: SubprocessHost): ExecutorProcess {
  const [program, ...args] = spec.argv;
  if (program === undefined) throw new Error("Cannot start an executor without a program");
  const windows = host.os === "windows";
  const child = new Deno.Command(program, {
    args,
    cwd: spec.cwd,
    clearEnv: true,
    env: { ...spec.env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    detached: !windows,
  }).spawn();
  const pid = child.pid;
  let exited = false;
  const status: Promise<ExitStatus> = child.status.then((s) => {
    exited = true;
    return { code: s.code, signal: s.signal };
  });
  writeStdin(child.stdin, spec.stdin).catch((err) => {
    // An executor that exits without reading its stdin is not an error.
    if (!(err instanceof Deno.errors.BrokenPipe)) {
      host.warn("cannot write the job payload to stdin", { pid, error: String(err) });
    }
  });

  const signalGroup = async (signal: StopSignal): Promise<boolean> => {
    const args = windows
      ? ["/PID", String(pid), "/T", ...(signal === "SIGKILL" ? ["/F"] : [])]
      : ["-s", signal.slice(3), "--", `-${pid}`];
    try {
      const out = await new Deno.Command(host.killCommand, {
        args,
        clearEnv: true,
        env: {},
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).output();
      return out.success;
    } catch (err) {
      host.warn(`cannot run "${host.killCommand}" to signal the process group; signalling the leader only`, {
        pid,
        error: String(err),
      });
      return false;
    }
  };

  return {
    description: `pid ${pid}`,
    stdout: child.stdout,
    stderr: child.stderr,
    status,
    async signal(signal) {
      if (exited) return;
      if (await signalGroup(signal) || exited) return;
      try {
        child.kill(signal);
      } catch (err) {
        // Most often the leader exited between the check and the kill.
        if (!exited) host.warn("cannot signal the executor", { pid, signal, error: String(err) });
      }
    },
    async reap() {
      // The group outlives its leader while any member lives; `kill` fails
      // (harmlessly) when none is left.
      if (!windows) await signalGroup("SIGKILL");
    },
  };
}

async function writeStdin(stdin: WritableStream<Uint8Array>, text: string): Promise<void> {
  const writer = stdin.getWriter();
  try {
    await writer.write(new TextEncoder().encode(text));
    await writer.close();
  } finally {
    writer.releaseLock();
  }
}
