import { describe, expect, it } from "vitest";
import { EventPageCache } from "../../coordinator/dispatch/event_page_cache.ts";
import type { EventPage } from "../../coordinator/storage/read_job_events.ts";
import { echoJob } from "../../tools/support/jobs.ts";
import { LauncherDriver } from "../support/launcher_driver.ts";
import { startTestCoordinator } from "../support/test_coordinator.ts";

const page = (from: number, n: number, more: boolean, size = 10): EventPage => ({
  events: Array.from({ length: n }, (_, i) => ({ offset: from + i, attempt: 1, time: 0, data: "x".repeat(size) })),
  more,
});

describe("the shared cache of event pages", () => {
  it("reads a full page once for every watch, and the log's tail each time", async () => {
    const cache = new EventPageCache(1024 * 1024);
    let reads = 0;
    const read = (p: EventPage) => () => (reads++, Promise.resolve(p));
    for (let watch = 0; watch < 3; watch++) {
      expect((await cache.page("j", 0, read(page(0, 2, true)))).events.map((e) => e.offset)).toEqual([0, 1]);
      expect((await cache.page("j", 2, read(page(2, 1, false)))).events.map((e) => e.offset)).toEqual([2]);
    }
    // The full page once; the tail, which may grow, three times.
    expect(reads).toBe(4);
    // Another job's page at the same offset is its own.
    await cache.page("k", 0, read(page(0, 2, true)));
    expect(reads).toBe(5);
  });

  it("lets the least recently used pages go once it holds more than its bytes", async () => {
    // Each page: 2 events of 1,000 characters, about 4 KB as UTF-16.
    const cache = new EventPageCache(10_000);
    let reads = 0;
    const read = (from: number) => () => (reads++, Promise.resolve(page(from, 2, true, 1_000)));
    await cache.page("j", 0, read(0));
    await cache.page("j", 2, read(2));
    await cache.page("j", 0, read(0)); // kept, and now the most recent
    await cache.page("j", 4, read(4)); // past 10,000 bytes: offset 2 goes
    expect(reads).toBe(3);
    await cache.page("j", 0, read(0));
    expect(reads).toBe(3);
    await cache.page("j", 2, read(2));
    expect(reads).toBe(4);
  });

  it("gives two watches of a long log, sharing its full pages, every event in order", async () => {
    const t = await startTestCoordinator();
    try {
      const { job } = await t.jobs.createJob(echoJob);
      const l = await LauncherDriver.register(t);
      const offer = await l.nextOffer();
      await l.accept(offer);
      // Three pages' worth (each page ends past 256 KiB of data).
      const big = "x".repeat(100_000);
      await l.append(offer, 0, Array.from({ length: 9 }, (_, n) => ({ n, big })));
      await l.succeed(offer);
      const watch = async () => {
        const seen: unknown[] = [];
        for await (const m of t.jobs.watchJob({ id: job!.id })) if (m.kind.case === "event") seen.push(m.kind.value.data?.n);
        return seen;
      };
      const [a, b] = await Promise.all([watch(), watch()]);
      expect(a).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
      expect(b).toEqual(a);
    } finally {
      await t.close();
    }
  });
});
