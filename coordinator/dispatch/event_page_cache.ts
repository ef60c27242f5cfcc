import type { EventPage, StoredEvent } from "../storage/read_job_events.ts";

/**
 * The full pages of events watches read lately, shared: many watches of one
 * job replaying its log (a dashboard's viewers, or an attack) read each page
 * once and hold one copy of it, not one each. Only a full page is kept (one
 * followed by more events): events are never changed once stored, so such a
 * page stays true until its job is deleted, and a page read for an offset
 * the cache does not hold is read from the database as before. Least
 * recently used pages go first once the pages kept pass `maxBytes`.
 */
export class EventPageCache {
  private readonly pages = new Map<string, { page: EventPage; bytes: number }>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** The page of `jobId` from `fromOffset`: kept, or read by `read` (and kept when full). */
  async page(jobId: string, fromOffset: number, read: () => Promise<EventPage>): Promise<EventPage> {
    const key = `${jobId}\u0000${fromOffset}`;
    const kept = this.pages.get(key);
    if (kept) {
      // Most recently used: to the end of the map's order.
      this.pages.delete(key);
      this.pages.set(key, kept);
      return kept.page;
    }
    const page = await read();
    if (page.more) this.keep(key, page);
    return page;
  }

  private keep(key: string, page: EventPage): void {
    const bytes = page.events.reduce((n, e: StoredEvent) => n + 2 * e.data.length + 64, 0);
    if (bytes > this.maxBytes || this.pages.has(key)) return;
    this.pages.set(key, { page, bytes });
    this.bytes += bytes;
    for (const [oldest, { bytes: size }] of this.pages) {
      if (this.bytes <= this.maxBytes) break;
      this.pages.delete(oldest);
      this.bytes -= size;
    }
  }
}
