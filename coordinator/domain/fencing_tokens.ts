import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Fencing tokens as launchers see them: the attempt's epoch (bumped at every
 * offer and whenever the coordinator takes an attempt back) and 128 bits of
 * an HMAC of the job's id and that epoch, under a key kept in the database.
 * The epoch alone would be guessable ("1", "2", ...); with the MAC a token
 * can only come from an offer. Storage keeps comparing epochs.
 */
export class FencingTokens {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length < 32) throw new Error("the fencing key must have at least 256 bits");
    this.#key = key;
  }

  /** The token of attempt `epoch` of job `jobId`. */
  issue(jobId: string, epoch: number): string {
    return `${epoch}.${this.#mac(jobId, epoch).toString("base64url")}`;
  }

  /**
   * The epoch a token stands for, or -1 (which no job ever has) when the
   * token was not issued for this job: a report under it is refused as stale.
   */
  epochOf(jobId: string, token: string): number {
    const match = /^(\d{1,15})\.([A-Za-z0-9_-]{22})$/.exec(token);
    if (!match) return -1;
    const epoch = Number(match[1]);
    const given = Buffer.from(match[2]!, "base64url");
    return given.length === 16 && timingSafeEqual(given, this.#mac(jobId, epoch)) ? epoch : -1;
  }

  #mac(jobId: string, epoch: number): Buffer {
    return createHmac("sha256", this.#key).update(`${jobId}\u0000${epoch}`).digest().subarray(0, 16);
  }
}
