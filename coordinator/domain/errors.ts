import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { EventOffsetMismatchSchema } from "../../gen/tether/v1/launcher_service_pb.ts";

/** Bad input: says which field is wrong and what to send instead. */
export function invalidArgument(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}

export function notFound(message: string): ConnectError {
  return new ConnectError(message, Code.NotFound);
}

/** The request is well-formed but the system is not in a state to take it. */
export function failedPrecondition(message: string): ConnectError {
  return new ConnectError(message, Code.FailedPrecondition);
}

export function alreadyExists(message: string): ConnectError {
  return new ConnectError(message, Code.AlreadyExists);
}

/** The caller is known but may not do this: says what it would need. */
export function permissionDenied(message: string): ConnectError {
  return new ConnectError(message, Code.PermissionDenied);
}

/** The caller is not known: says how to get a credential. */
export function unauthenticated(message: string): ConnectError {
  return new ConnectError(message, Code.Unauthenticated);
}

/**
 * A batch of events that would leave a gap: OUT_OF_RANGE with the offset to
 * resend from, as a typed detail a launcher reads without parsing the text.
 */
export function eventOffsetMismatch(jobId: string, expected: number, got: number): ConnectError {
  return new ConnectError(
    `events of job "${jobId}" must continue at offset ${expected}, not ${got}; resend from offset ${expected}`,
    Code.OutOfRange,
    undefined,
    [{ desc: EventOffsetMismatchSchema, value: create(EventOffsetMismatchSchema, { expectedOffset: BigInt(expected) }) }],
  );
}
