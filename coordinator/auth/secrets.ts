import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

// The shapes of tether's bearer secrets. A prefix says what a secret is, so
// that secret scanners and people can tell one at a glance, and a request
// can be turned away before any lookup when it carries something else.

/** API tokens (admin, client, launcher registration): "tth_" and 256 random bits. */
export const apiTokenPrefix = "tth_";
/** A launcher instance's credential: "thl_", the launcher's id, ".", 256 random bits. */
export const launcherCredentialPrefix = "thl_";

/** 256 random bits, base64url (43 characters). */
export function newSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** What is stored of a secret: its SHA-256, hex. A slow hash buys nothing for 256 random bits. */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** Compares two stored hashes in constant time. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}

export function newApiToken(): string {
  return apiTokenPrefix + newSecret();
}

export function newLauncherCredential(launcherId: string): string {
  return `${launcherCredentialPrefix}${launcherId}.${newSecret()}`;
}

/** What a bearer secret claims to be, before it is checked. */
export type Bearer =
  | { readonly kind: "api-token"; readonly hash: string }
  | { readonly kind: "launcher"; readonly launcherId: string; readonly hash: string };

const secretPattern = /^[A-Za-z0-9_-]{43}$/;

/** Parses a bearer secret; null when it has none of tether's shapes. */
export function parseBearer(secret: string): Bearer | null {
  if (secret.startsWith(apiTokenPrefix)) {
    const rest = secret.slice(apiTokenPrefix.length);
    return secretPattern.test(rest) ? { kind: "api-token", hash: hashSecret(secret) } : null;
  }
  if (secret.startsWith(launcherCredentialPrefix)) {
    const dot = secret.lastIndexOf(".");
    const launcherId = secret.slice(launcherCredentialPrefix.length, dot);
    if (dot < 0 || !/^lnch_[0-9a-f]{20}$/.test(launcherId) || !secretPattern.test(secret.slice(dot + 1))) return null;
    return { kind: "launcher", launcherId, hash: hashSecret(secret) };
  }
  return null;
}
