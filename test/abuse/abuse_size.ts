/** The abuse suite's size: short by default (part of `npm test`), the full sizes with TETHER_ABUSE=long. */
export const abuseMode: "short" | "long" = process.env.TETHER_ABUSE === "long" ? "long" : "short";

/** Picks the short or the long figure. */
export function bySize<T>(short: T, long: T): T {
  return abuseMode === "long" ? long : short;
}

/** A guard for an attack's test: long enough never to cut a healthy run short. */
export const attackTimeoutMs = bySize(90_000, 300_000);
