/** Structured fields of one log line. */
export type LogFields = Record<string, unknown>;

/** Writes one JSON log line per call; passed to every module that logs. */
export interface Logger {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/** A logger writing JSON lines through `write`, stamped by `now`. */
export function jsonLogger(write: (line: string) => void, now: () => Date = () => new Date()): Logger {
  const emit = (level: string) => (msg: string, fields: LogFields = {}) =>
    write(JSON.stringify({ time: now().toISOString(), level, msg, ...fields }));
  return { info: emit("info"), warn: emit("warn"), error: emit("error") };
}
