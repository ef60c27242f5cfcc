import type { DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import type { Compression } from "@connectrpc/connect/protocol";
import { countJsonEntries, countProtoEntries, type EntryCount } from "../api/entry_count.ts";

/** The request compressions the coordinator accepts (Connect's defaults for Node). */
export const acceptCompression: Compression[] = [compressionGzip, compressionBrotli];

/** Deeper than this, a body is refused before decoding (the API's JSON values may nest 32 levels, 64 in protobuf). */
const maxDepth = 100;

/** What a request body is: its messages' format, whether they come in envelopes, and their compression. */
interface Framing {
  readonly binary: boolean;
  readonly enveloped: boolean;
  readonly compression: string | null;
}

/** The framing of a request by its headers; null for a content type no protocol takes (Connect refuses it). */
export function framingOf(header: Headers): Framing | null {
  const type = (header.get("content-type") ?? "").toLowerCase();
  const match = /^application\/(?:(connect|grpc-web|grpc)(?:\+(json|proto))?|(json|proto))\s*(?:;|$)/.exec(type);
  if (!match) return null;
  const [, protocol, streamFormat, unaryFormat] = match;
  const binary = (streamFormat ?? unaryFormat) !== "json";
  if (protocol === undefined) return { binary, enveloped: false, compression: header.get("content-encoding") };
  const encodingHeader = protocol === "connect" ? "connect-content-encoding" : "grpc-encoding";
  return { binary, enveloped: true, compression: header.get(encodingHeader) };
}

/**
 * The bytes of request bodies held at once, across all requests, within a
 * cap: so that many large bodies sent slowly (each within its own limit and
 * deadline) cannot pin the coordinator's memory.
 */
export class BodyMemory {
  private held = 0;

  constructor(readonly capBytes: number) {}

  /** Takes `bytes` more, or nothing and false when that would pass the cap. */
  take(bytes: number): boolean {
    if (this.held + bytes > this.capBytes) return false;
    this.held += bytes;
    return true;
  }

  give(bytes: number): void {
    this.held -= bytes;
  }
}

export interface BodyLimits {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly memory: BodyMemory;
}

/**
 * The body of a request to a method taking `input`, passed on unchanged
 * once it is whole, or refused with INVALID_ARGUMENT, before anything
 * decodes it, if a message in it has more than `maxEntries` entries (see
 * api/entry_count.ts) or nests too deep. A body past `maxBytes` is passed on
 * uncounted: Connect refuses it for its size. A body that would take the
 * bodies held at once past their cap is refused with RESOURCE_EXHAUSTED.
 */
export async function* withinEntryBudget(
  body: AsyncIterable<Uint8Array>,
  input: DescMessage,
  framing: Framing,
  limits: BodyLimits,
): AsyncGenerator<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    const it = body[Symbol.asyncIterator]();
    for (let next = await it.next(); !next.done; next = await it.next()) {
      if (!limits.memory.take(next.value.length)) throw bodiesAtCap(limits.memory.capBytes);
      chunks.push(next.value);
      size += next.value.length;
      if (size > limits.maxBytes) {
        yield* chunks;
        for (next = await it.next(); !next.done; next = await it.next()) yield next.value;
        return;
      }
    }
    const whole = Buffer.concat(chunks);
    const messages = framing.enveloped ? envelopedMessages(whole, framing.compression) : [
      { bytes: whole, compressed: framing.compression !== null && framing.compression !== "identity" },
    ];
    for (const { bytes, compressed } of messages) {
      const message = compressed ? await decompress(bytes, framing.compression, limits.maxBytes) : bytes;
      await checkEntries(message, input, framing.binary, limits.maxEntries);
    }
    yield whole;
  } finally {
    limits.memory.give(size);
  }
}

function bodiesAtCap(capBytes: number): ConnectError {
  return new ConnectError(
    `the coordinator holds as many request bodies as its --max-body-memory (${capBytes} bytes) allows; ` +
      "nothing was changed: retry shortly",
    Code.ResourceExhausted,
  );
}

/** Refuses one message (already decompressed) past the budget; bytes that fail to decompress are left to Connect. */
export async function checkEntries(
  bytes: Uint8Array | null,
  input: DescMessage,
  binary: boolean,
  maxEntries: number,
): Promise<void> {
  if (bytes === null) return;
  let count: EntryCount;
  try {
    count = binary
      ? countProtoEntries(input, bytes, maxEntries, maxDepth)
      : countJsonEntries(bytes, maxEntries, maxDepth);
  } catch (err) {
    throw new ConnectError(`the request is not a valid ${input.typeName}: ${(err as Error).message}`, Code.InvalidArgument);
  }
  if (count.tooDeep) {
    throw new ConnectError(`the request nests deeper than ${maxDepth} levels`, Code.InvalidArgument);
  }
  if (count.entries > maxEntries) {
    throw new ConnectError(
      `the request holds more than ${maxEntries} entries (object keys and array elements, at any depth); ` +
        `send fewer or smaller values at a time`,
      Code.InvalidArgument,
    );
  }
}

/** The messages of an enveloped body, each with whether its envelope says it is compressed; a torn envelope ends the list. */
function envelopedMessages(body: Buffer, compression: string | null): { bytes: Uint8Array; compressed: boolean }[] {
  const messages: { bytes: Uint8Array; compressed: boolean }[] = [];
  for (let at = 0; at + 5 <= body.length;) {
    const flags = body[at]!;
    const length = body.readUInt32BE(at + 1);
    const bytes = body.subarray(at + 5, at + 5 + length);
    // Flag 0b10 ends a Connect stream with JSON metadata, 0x80 is a gRPC-Web trailer: neither is a message.
    if ((flags & 0b1000_0010) === 0) messages.push({ bytes, compressed: (flags & 1) === 1 && compression !== null });
    at += 5 + length;
  }
  return messages;
}

/** The bytes decompressed, or null when they are not (an unknown name, corrupt data: Connect answers that). */
async function decompress(bytes: Uint8Array, name: string | null, maxBytes: number): Promise<Uint8Array | null> {
  const compression = acceptCompression.find((c) => c.name === name);
  if (!compression) return null;
  try {
    return await compression.decompress(bytes, maxBytes);
  } catch {
    return null;
  }
}

/** A Connect GET request's message, which its URL carries, checked like a body. */
export async function checkGetMessage(url: URL, input: DescMessage, limits: BodyLimits): Promise<void> {
  const query = url.searchParams;
  const message = query.get("message") ?? "";
  // Node's base64 decoder reads both alphabets, as Connect's does.
  const bytes = query.get("base64") === "1" ? Buffer.from(message, "base64") : Buffer.from(message);
  const compression = query.get("compression");
  const compressed = compression !== null && compression !== "identity";
  const binary = query.get("encoding") === "proto";
  await checkEntries(compressed ? await decompress(bytes, compression, limits.maxBytes) : bytes, input, binary, limits.maxEntries);
}
