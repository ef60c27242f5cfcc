import { expect } from "vitest";
import { ConfigError } from "../../launcher-deno/src/config/config_fields.ts";
import type { JobPayload } from "../../launcher-deno/src/executors/job_payload.ts";

/** The message of the ConfigError `parse` throws; a config that parses fails the test. */
export function configRefusal(parse: () => unknown): string {
  try {
    parse();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("the config was accepted");
}

/** A version-1 job payload as the launcher hands it to an executor, with `overrides`. */
export function jobPayload(overrides: Partial<JobPayload> = {}): JobPayload {
  return {
    version: 1,
    mode: "start",
    jobId: "job_1",
    attempt: 1,
    sessionId: "ses_1",
    executorSessionId: "",
    parameters: { prompt: "hi" },
    projectDir: "/srv/repo",
    ...overrides,
  };
}
