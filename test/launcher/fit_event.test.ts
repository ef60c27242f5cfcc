import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fitEvent } from "../../launcher-deno/src/attempt/fit_event.ts";

/** Every string of `value`, in order. */
function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (value === null || typeof value !== "object") return [];
  return Object.values(value).flatMap(strings);
}

describe("an event cut to fit the coordinator's limit", () => {
  it("comes back as it is when it fits", () => {
    const event = { type: "assistant", text: "short" };
    expect(fitEvent(event, 1_000)).toBe(event);
  });

  it("fits, escaping included, keeps a prefix of each string it cuts, and says so", () => {
    const text = fc.string({ unit: "binary", maxLength: 3_000 });
    fc.assert(fc.property(fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(text, fc.array(text, { maxLength: 3 }))), fc.integer({ min: 600, max: 4_000 }), (fields, max) => {
      const event = { type: "t", ...fields };
      const fitted = fitEvent(event, max);
      expect(JSON.stringify(fitted).length).toBeLessThanOrEqual(max);
      if (fitted === event) return;
      expect(fitted).toMatchObject({ truncated: true, original_chars: JSON.stringify(event).length });
      const before = strings(event);
      const after = strings({ ...fitted, truncated: undefined, original_chars: undefined });
      if (after.length === before.length) after.forEach((s, i) => expect(before[i]!.startsWith(s)).toBe(true));
    }));
  });

  it("cuts a whole answer repeated in a Claude result line, quotes and all, to a prefix of it", () => {
    const answer = 'un "quoted" línea\n'.repeat(80_000);
    const fitted = fitEvent({ type: "result", subtype: "success", is_error: false, result: answer, session_id: "s" }, 1024 * 1024);
    expect(JSON.stringify(fitted).length).toBeLessThanOrEqual(1024 * 1024);
    expect(fitted).toMatchObject({ type: "result", subtype: "success", is_error: false, session_id: "s", truncated: true });
    expect(answer.startsWith(fitted.result as string)).toBe(true);
    // The room is used: little is cut beyond what the limit asks.
    expect(JSON.stringify(fitted).length).toBeGreaterThan(1024 * 1024 - 1_024);
  });
});
