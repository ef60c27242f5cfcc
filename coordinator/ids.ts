import { createHash, randomBytes } from "node:crypto";

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz";

/** A new id such as "job_01jd3k...": time-ordered, then 80 random bits. */
export function newId(prefix: string, now = Date.now()): string {
  let time = "";
  for (let t = now, i = 0; i < 10; i++, t = Math.floor(t / 32)) time = alphabet[t % 32] + time;
  let rand = "";
  for (const byte of randomBytes(10)) rand += alphabet[byte % 32];
  return `${prefix}_${time}${rand}`;
}

/** A launcher's stable id: the same host and name always give the same id. */
export function launcherId(hostname: string, name: string): string {
  const digest = createHash("sha256").update(`${hostname}\u0000${name}`).digest("hex");
  return `lnch_${digest.slice(0, 20)}`;
}
