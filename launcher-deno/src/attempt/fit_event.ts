import type { OutputLimits } from "../config/config.ts";
import type { JobEventData } from "../executors/ndjson.ts";

/** The coordinator's limit on a job's result: FinishJob takes at most 1 MiB of it, as JSON. */
export const resultChars = 1024 * 1024;

/**
 * How long a line of an executor's output may be and still be read whole:
 * 4 MiB, or the event limit if larger. A result line repeats a whole answer
 * and is parsed whole, then cut to fit; past this bound only a line's start
 * is kept, as a log event.
 */
export function maxLineBytes(limits: OutputLimits): number {
  return Math.max(limits.maxEventBytes, 4 * 1024 * 1024);
}

/** Room kept for the marker fields added to a cut event. */
const markerRoom = 128;

/**
 * `event`, made to fit `maxChars` of JSON as the coordinator measures it
 * (the length of JSON.stringify, escaping included): its longest strings are
 * cut, and it says so with `"truncated": true` and the length it had. An
 * event that fits comes back as it is. Claude Code's CLI, for one, repeats a
 * whole answer in its assistant and result lines, so an answer near the
 * event limit would otherwise make lines the coordinator refuses.
 */
export function fitEvent(event: JobEventData, maxChars: number): JobEventData {
  const originalChars = JSON.stringify(event).length;
  if (originalChars <= maxChars) return event;
  const copy = structuredClone(event);
  const leaves = stringLeaves(copy);
  const room = maxChars - markerRoom;
  for (let size = originalChars, round = 0; size > room && round < 64; round++) {
    const leaf = leaves.reduce<Leaf | undefined>((a, b) => (a && a.value.length >= b.value.length ? a : b), undefined);
    if (!leaf || leaf.value.length === 0) {
      // Nothing left to cut (an event of very many short values): its type and the marker alone.
      return { type: event.type ?? null, truncated: true, original_chars: originalChars };
    }
    const json = JSON.stringify(leaf.value).length;
    // Escapes make a string's JSON longer than the string: keep a share of it in proportion.
    let keep = Math.max(0, Math.floor((leaf.value.length * (json - (size - room))) / json) - 8);
    // Never half of a surrogate pair.
    if (keep > 0 && isHighSurrogate(leaf.value.charCodeAt(keep - 1))) keep--;
    leaf.value = leaf.value.slice(0, keep);
    leaf.holder[leaf.key] = leaf.value;
    size = JSON.stringify(copy).length;
  }
  return { ...copy, truncated: true, original_chars: originalChars };
}

/** A string in the event, and where it is held (an object's key, or an array's index as a key). */
interface Leaf {
  holder: Record<string, unknown>;
  key: string;
  value: string;
}

function stringLeaves(value: unknown, leaves: Leaf[] = []): Leaf[] {
  if (value === null || typeof value !== "object") return leaves;
  const holder = value as Record<string, unknown>;
  for (const key of Object.keys(holder)) {
    const child = holder[key];
    if (typeof child === "string") leaves.push({ holder, key, value: child });
    else stringLeaves(child, leaves);
  }
  return leaves;
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
