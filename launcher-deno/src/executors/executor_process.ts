/** How an executor process ended. */
export interface ExitStatus {
  /** The exit code; 128 + the signal number when a signal ended it. */
  readonly code: number;
  /** The signal that ended it, if one did. */
  readonly signal: string | null;
}

/** The signals the launcher sends, in the order it escalates them. */
export type StopSignal = "SIGINT" | "SIGTERM" | "SIGKILL";

/**
 * A running executor, whether a subprocess or the in-process echo: the
 * attempt reads its output, waits for its status and signals it through this.
 */
export interface ExecutorProcess {
  /** Text for logs, such as "pid 4242". */
  readonly description: string;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  /** Settles when the process (the group's leader) has exited. */
  readonly status: Promise<ExitStatus>;
  /** Sends `signal` to the executor's whole process group while it runs. */
  signal(signal: StopSignal): Promise<void>;
  /** Kills whatever is left of the process group after the leader exited. */
  reap(): Promise<void>;
}
