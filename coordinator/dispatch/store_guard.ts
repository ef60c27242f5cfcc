import { Code, ConnectError } from "@connectrpc/connect";
import type { Clock } from "../domain/clock.ts";
import type { StoreSize } from "../storage/db/store_size.ts";

export interface StoreLimits {
  /** The database's size cap (null: none); growth stops at 90% of it. */
  readonly maxBytes: number | null;
  /** Growth stops while the disk has less free than this; null: the smaller of 1 GiB and 5% of the disk. */
  readonly minFreeDiskBytes: number | null;
}

/** The share of --db-max-bytes past which growth is refused: the rest is room for what is under way to end. */
const growthShare = 0.9;
/** How long a measurement stands while the store has room. */
const freshMs = 1_000;

/**
 * Keeps the store from filling up. New jobs and new events are refused with
 * RESOURCE_EXHAUSTED while the database uses 90% of its cap, or its disk has
 * less free than the reserve, so that what is under way can still end: a
 * finish, a cancel, a heartbeat and every read are small, and never refused
 * here. Space freed (by retention, or by hand) admits growth again at once:
 * while full, every refused request measures afresh.
 */
export class StoreGuard {
  private full: string | null = null;
  private measuredAt = -Infinity;
  private measuring: Promise<void> | null = null;

  constructor(
    /** Null: a store this coordinator cannot measure (PostgreSQL), never refused here. */
    private readonly measure: () => Promise<StoreSize | null>,
    private readonly limits: StoreLimits,
    private readonly clock: Clock,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Throws RESOURCE_EXHAUSTED, changing nothing, when the store has no room to grow. */
  async admitGrowth(): Promise<void> {
    // Measured before the first growth and while full; else in the background, at most once a second.
    if (this.full !== null || this.measuredAt === -Infinity) await this.remeasure();
    else if (this.clock.now() - this.measuredAt > freshMs) void this.remeasure();
    if (this.full !== null) {
      throw new ConnectError(
        `the coordinator's store is nearly full (${this.full}); nothing was changed: new jobs and events are ` +
          "refused until space is freed, while running jobs can still finish and jobs be read and cancelled",
        Code.ResourceExhausted,
      );
    }
  }

  private remeasure(): Promise<void> {
    this.measuring ??= this.measure().then((size) => {
      this.full = this.shortOfRoom(size);
    }, this.onError).finally(() => {
      this.measuredAt = this.clock.now();
      this.measuring = null;
    });
    return this.measuring;
  }

  /** Why the store has no room to grow, or null when it has. */
  private shortOfRoom(size: StoreSize | null): string | null {
    if (size === null) return null;
    const { maxBytes } = this.limits;
    if (maxBytes !== null && size.usedBytes >= growthShare * maxBytes) {
      return `the database uses ${mib(size.usedBytes)} of its --db-max-bytes ${mib(maxBytes)}`;
    }
    const reserve = this.limits.minFreeDiskBytes ?? Math.min(1024 ** 3, 0.05 * size.diskBytes);
    if (size.freeDiskBytes < reserve) {
      return `its disk has ${mib(size.freeDiskBytes)} free, under the --min-free-disk reserve of ${mib(reserve)}`;
    }
    return null;
  }
}

const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
