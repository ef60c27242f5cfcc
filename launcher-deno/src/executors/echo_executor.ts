import { delay } from "../delay.ts";
import type { ExecutorProcess, ExitStatus, StopSignal } from "./executor_process.ts";
import type { JobPayload } from "./job_payload.ts";

const signalNumbers: Record<StopSignal, number> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/**
 * The demo executor, run in-process: it answers the prompt with the same
 * event shapes as Claude Code (init, assistant, result). In-process because
 * it then needs no program on the host and no --allow-run entry, works the
 * same in a compiled binary, and still goes through the very output, bound
 * and report path that subprocesses use. A signal ends it as it would a
 * process: 128 + the signal's number.
 */
export function startEcho(payload: JobPayload): ExecutorProcess {
  const encoder = new TextEncoder();
  const stdout = new TransformStream<Uint8Array, Uint8Array>();
  const stderr = new TransformStream<Uint8Array, Uint8Array>();
  const stop = new AbortController();
  const sessionId = payload.executorSessionId || crypto.randomUUID();
  const prompt = String(payload.parameters.prompt ?? "");
  const delayMs = typeof payload.parameters.delayMs === "number" ? payload.parameters.delayMs : 0;

  const run = async (): Promise<ExitStatus> => {
    const out = stdout.writable.getWriter();
    const line = (event: unknown) => out.write(encoder.encode(JSON.stringify(event) + "\n"));
    try {
      await line({
        type: "system",
        subtype: "init",
        session_id: sessionId,
        cwd: payload.projectDir,
        model: "echo",
        tools: [],
      });
      if (delayMs > 0) await delay(delayMs, stop.signal);
      const reply = prompt;
      await line({
        type: "assistant",
        session_id: sessionId,
        message: { role: "assistant", content: [{ type: "text", text: reply }] },
      });
      await line({
        type: "result",
        subtype: "success",
        is_error: false,
        result: reply,
        session_id: sessionId,
        num_turns: 1,
        total_cost_usd: 0,
        usage: { input_tokens: 0, output_tokens: 0 },
      });
      return { code: 0, signal: null };
    } catch (err) {
      if (!stop.signal.aborted) throw err;
      const signal = stop.signal.reason as StopSignal;
      return { code: 128 + signalNumbers[signal], signal };
    } finally {
      // Closing fails only when the reader already cancelled the stream.
      await out.close().catch(() => undefined);
      await stderr.writable.close().catch(() => undefined);
    }
  };
  const status = run();

  return {
    description: "in-process echo",
    stdout: stdout.readable,
    stderr: stderr.readable,
    status,
    signal(signal) {
      stop.abort(signal);
      return Promise.resolve();
    },
    reap: () => Promise.resolve(),
  };
}
