import { createHash, randomBytes } from "node:crypto";

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz";

/** A new id such as "job_01jd3k...": 10 characters of time (ms), then 16 of 80 random bits. */
export function newId(prefix: string, now = Date.now()): string {
  let time = "";
  for (let t = now, i = 0; i < 10; i++, t = Math.floor(t / 32)) time = alphabet[t % 32] + time;
  // Each character takes 5 bits of the 80, none wasted or biased.
  let bits = BigInt(`0x${randomBytes(10).toString("hex")}`);
  let rand = "";
  for (let i = 0; i < 16; i++, bits >>= 5n) rand = alphabet[Number(bits & 31n)] + rand;
  return `${prefix}_${time}${rand}`;
}

/**
 * A launcher's stable id: the same host and name always give the same id.
 * It is a name, not a secret: a launcher proves who it is with the
 * credential its registration returned.
 */
export function launcherId(hostname: string, name: string): string {
  const digest = createHash("sha256").update(`${hostname}\u0000${name}`).digest("hex");
  return `lnch_${digest.slice(0, 20)}`;
}
