/**
 * The Connect streaming envelope, written and read by hand as a curl user
 * would: one flags byte, the message length as a big-endian uint32, then
 * the message. The last frame of a response carries the end-stream flag and
 * a JSON object with the error, if the stream failed.
 */

export const endStreamFlag = 0b10;

export interface Frame {
  flags: number;
  data: Uint8Array;
}

/** The end-stream message: `error` is set when the stream failed. */
export interface EndStream {
  error?: { code: string; message: string };
  metadata?: Record<string, string[]>;
}

export function envelope(message: string | Uint8Array, flags = 0): Uint8Array<ArrayBuffer> {
  const data = typeof message === "string" ? new TextEncoder().encode(message) : message;
  const frame = new Uint8Array(5 + data.length);
  const view = new DataView(frame.buffer);
  view.setUint8(0, flags);
  view.setUint32(1, data.length);
  frame.set(data, 5);
  return frame;
}

/** Splits a response body into frames as they arrive, whatever the chunking. */
export async function* readFrames(body: ReadableStream<Uint8Array>): AsyncGenerator<Frame> {
  let buffered = new Uint8Array(0);
  for await (const chunk of body) {
    const joined = new Uint8Array(buffered.length + chunk.length);
    joined.set(buffered);
    joined.set(chunk, buffered.length);
    let frame;
    for (buffered = joined; (frame = takeFrame(buffered)); buffered = buffered.subarray(5 + frame.data.length)) {
      yield frame;
    }
  }
  if (buffered.length > 0) throw new Error(`the stream ended inside a frame (${buffered.length} bytes left over)`);
}

/** Splits a whole response body into its frames. */
export function splitFrames(body: Uint8Array): Frame[] {
  const frames = [];
  let frame;
  for (let rest = body; (frame = takeFrame(rest)); rest = rest.subarray(5 + frame.data.length)) frames.push(frame);
  return frames;
}

/** The first frame of `data`, when all of it is there. */
function takeFrame(data: Uint8Array): Frame | null {
  if (data.length < 5) return null;
  const length = new DataView(data.buffer, data.byteOffset).getUint32(1);
  if (data.length < 5 + length) return null;
  return { flags: data[0]!, data: data.slice(5, 5 + length) };
}

export function frameJson<T = unknown>(frame: Frame): T {
  return JSON.parse(new TextDecoder().decode(frame.data)) as T;
}
