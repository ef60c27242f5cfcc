import type { DescField, DescMessage } from "@bufbuild/protobuf";

/**
 * What decoding a request costs grows with its entries far more than with
 * its bytes: 4 MiB of `[0,0,0,…]` is two million values, each built twice
 * (protobuf-es makes a google.protobuf.Value, then the JSON it stands for).
 * These count a body's entries without decoding it, so that the coordinator
 * can refuse an expensive body before paying for it.
 *
 * An entry is an object's key or an array's element, at any depth (in
 * protobuf: a field, a map entry, a list element; google.protobuf.Value's
 * kind is not one of its own). Both counts stop a little past `limit`, and
 * a body nested deeper than `maxDepth` counts as over it.
 */
export interface EntryCount {
  /** The entries counted; past the limit, where counting stopped. */
  readonly entries: number;
  /** The body nests deeper than maxDepth (counting stopped there). */
  readonly tooDeep: boolean;
}

const quote = 0x22;
const backslash = 0x5c;
const comma = 0x2c;
const colon = 0x3a;
const openBracket = 0x5b;
const closeBracket = 0x5d;
const openBrace = 0x7b;
const closeBrace = 0x7d;
const isWhitespace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** Entries of JSON text: each `:` of an object, each element of an array. Invalid JSON is counted as far as it goes. */
export function countJsonEntries(json: Uint8Array, limit: number, maxDepth: number): EntryCount {
  // For each open array or object, whether it is an array.
  const open: boolean[] = [];
  let entries = 0;
  // Just after a `[`: the next token, unless `]`, is the array's first element.
  let arrayStart = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!;
    if (isWhitespace(c)) continue;
    if (arrayStart) {
      arrayStart = false;
      if (c !== closeBracket) entries++;
    }
    switch (c) {
      case quote:
        i = stringEnd(json, i);
        break;
      case openBracket:
      case openBrace:
        open.push(c === openBracket);
        arrayStart = c === openBracket;
        if (open.length > maxDepth) return { entries, tooDeep: true };
        break;
      case closeBracket:
      case closeBrace:
        open.pop();
        break;
      case colon:
        entries++;
        break;
      case comma:
        if (open[open.length - 1]) entries++;
        break;
    }
    if (entries > limit) break;
  }
  return { entries, tooDeep: false };
}

/** The index of the quote that ends the string opening at `start` (the last index if it never ends). */
function stringEnd(json: Uint8Array, start: number): number {
  let at = start;
  for (;;) {
    // indexOf runs natively: long strings, the bulk of a legitimate body, cost little.
    at = json.indexOf(quote, at + 1);
    if (at < 0) return json.length;
    let backslashes = 0;
    while (json[at - 1 - backslashes] === backslash) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
}

/** Entries of a message of `desc` in the protobuf binary format; malformed input throws. */
export function countProtoEntries(desc: DescMessage, bytes: Uint8Array, limit: number, maxDepth: number): EntryCount {
  const walk: Walk = { buf: bytes, pos: 0, entries: 0, limit, maxDepth, tooDeep: false };
  countMessage(walk, desc, bytes.length, 1);
  return { entries: walk.entries, tooDeep: walk.tooDeep };
}

/**
 * A walk over protobuf wire data: where it is and what it counted. The
 * walk reads the wire format itself, without allocating, since
 * protobuf-es's BinaryReader costs about as much per field as decoding.
 */
interface Walk {
  readonly buf: Uint8Array;
  pos: number;
  entries: number;
  readonly limit: number;
  readonly maxDepth: number;
  tooDeep: boolean;
}

const wireVarint = 0;
const wireFixed64 = 1;
const wireDelimited = 2;
const wireStartGroup = 3;
const wireEndGroup = 4;
const wireFixed32 = 5;

/** Counts the fields of a message of `desc` from walk.pos to `end`. */
function countMessage(walk: Walk, desc: DescMessage, end: number, depth: number): void {
  if (depth > walk.maxDepth) {
    walk.tooDeep = true;
    return;
  }
  // google.protobuf.Value's kind stands for the value itself, which its container counted.
  const ownEntries = desc.typeName !== "google.protobuf.Value";
  while (walk.pos < end && walk.entries <= walk.limit && !walk.tooDeep) {
    const tag = varint(walk, end);
    const number = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (ownEntries) walk.entries++;
    const field = desc.fields.find((f) => f.number === number);
    const inner = field && wireType === wireDelimited ? messageOf(field) : undefined;
    if (inner === undefined) {
      skip(walk, wireType, number, end);
      continue;
    }
    const innerEnd = delimitedEnd(walk, end);
    if (field!.fieldKind === "map") countMapEntry(walk, inner, innerEnd, depth + 1);
    else countMessage(walk, inner, innerEnd, depth + 1);
    walk.pos = innerEnd;
  }
}

/** A map entry is one entry (counted by its map field): its key is skipped and its value, a message, counted. */
function countMapEntry(walk: Walk, value: DescMessage, end: number, depth: number): void {
  while (walk.pos < end && !walk.tooDeep) {
    const tag = varint(walk, end);
    if (tag === (2 << 3 | wireDelimited)) {
      const valueEnd = delimitedEnd(walk, end);
      countMessage(walk, value, valueEnd, depth);
      walk.pos = valueEnd;
    } else {
      skip(walk, tag % 8, Math.floor(tag / 8), end);
    }
  }
}

/** Reads a length prefix; returns where the bytes it announces end. */
function delimitedEnd(walk: Walk, end: number): number {
  const length = varint(walk, end);
  const innerEnd = walk.pos + length;
  if (innerEnd > end) throw new Error("a length-delimited field runs past its message");
  return innerEnd;
}

function skip(walk: Walk, wireType: number, number: number, end: number): void {
  switch (wireType) {
    case wireVarint:
      varint(walk, end);
      return;
    case wireFixed64:
      walk.pos += 8;
      break;
    case wireDelimited:
      walk.pos = delimitedEnd(walk, end);
      return;
    case wireFixed32:
      walk.pos += 4;
      break;
    case wireStartGroup:
      for (;;) {
        const tag = varint(walk, end);
        if (tag % 8 === wireEndGroup) {
          if (Math.floor(tag / 8) !== number) throw new Error("a group ends with another field's number");
          return;
        }
        skip(walk, tag % 8, Math.floor(tag / 8), end);
      }
    default:
      throw new Error(`wire type ${wireType} is not one protobuf has`);
  }
  if (walk.pos > end) throw new Error("a fixed-size field runs past its message");
}

/** A varint of up to 64 bits, as a number (exact up to 2^53, which covers tags and lengths). */
function varint(walk: Walk, end: number): number {
  let value = 0;
  for (let shift = 0; shift < 70; shift += 7) {
    if (walk.pos >= end) throw new Error("a varint runs past its message");
    const byte = walk.buf[walk.pos++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return value;
  }
  throw new Error("a varint is longer than 10 bytes");
}

/** The message type a length-delimited occurrence of `field` holds, if any (for a map: its values'). */
function messageOf(field: DescField): DescMessage | undefined {
  switch (field.fieldKind) {
    case "message":
      return field.message;
    case "list":
      return field.listKind === "message" ? field.message : undefined;
    case "map":
      return field.mapKind === "message" ? field.message : undefined;
    default:
      return undefined;
  }
}
