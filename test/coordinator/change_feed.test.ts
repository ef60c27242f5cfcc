import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../coordinator/log.ts";
import { type ChangeFeed, type ChangeMessage, openChangeFeed } from "../../coordinator/storage/db/change_feed.ts";
import { type Db, openDatabase } from "../../coordinator/storage/db/open_database.ts";
import { until } from "../support/test_coordinator.ts";
import { freshDatabase, type TestDatabase, testBackend } from "../support/test_database.ts";

if (testBackend !== "postgres") console.log("change_feed.test.ts: LISTEN/NOTIFY is PostgreSQL's; skipped on SQLite");

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}_01m89mgxyh25xe0057a4_${i}`);

describe.skipIf(testBackend !== "postgres")("the change feed between coordinators", () => {
  let database: TestDatabase;
  let db: Db;
  let sender: ChangeFeed;
  let receiver: ChangeFeed;
  let received: ChangeMessage[];
  beforeEach(async () => {
    database = await freshDatabase();
    db = await openDatabase(database.url);
    received = [];
    const ignore = { onMessage() {}, onResync() {} };
    sender = await openChangeFeed(database.url, db, ignore, silentLogger);
    receiver = await openChangeFeed(database.url, db, { ...ignore, onMessage: (m) => received.push(m) }, silentLogger);
  });
  afterEach(async () => {
    await sender.close();
    await receiver.close();
    await db.destroy();
    await database.drop();
  });

  it("sends the messages published in one turn of the event loop as one notification", async () => {
    await Promise.all([
      sender.publish({ ready: ["job_a"], launchers: [], changed: ["job_a"] }),
      sender.publish({ ready: [], launchers: ["lnch_1"], changed: [] }),
      sender.publish({ ready: [], launchers: ["lnch_1"], changed: ["job_b", "job_a"] }),
    ]);
    await sender.publish({ ready: [], launchers: [], changed: ["job_last"] });
    await until(() => received.some((m) => m.changed.includes("job_last")), "the last notification");
    expect(received.map(({ ready, launchers, changed }) => ({ ready, launchers, changed }))).toEqual([
      { ready: ["job_a"], launchers: ["lnch_1"], changed: ["job_a", "job_b"] },
      { ready: [], launchers: [], changed: ["job_last"] },
    ]);
  });

  it("splits what does not fit in one notification and loses no id", async () => {
    const message = { ready: ids("job", 400), launchers: ids("lnch", 300), changed: ids("job", 500) };
    await sender.publish(message);
    const count = () => received.reduce((n, m) => n + m.ready.length + m.launchers.length + m.changed.length, 0);
    await until(() => count() === 1200, "every id to arrive");
    expect(received.flatMap((m) => m.ready)).toEqual(message.ready);
    expect(received.flatMap((m) => m.launchers)).toEqual(message.launchers);
    expect(received.flatMap((m) => m.changed)).toEqual(message.changed);
    // As few notifications as PostgreSQL's 8000-byte limit on a payload allows.
    const bytes = JSON.stringify(message).length;
    expect(received.length).toBeGreaterThanOrEqual(Math.ceil(bytes / 8000));
    expect(received.length).toBeLessThanOrEqual(Math.ceil(bytes / 8000) + 1);
  });
});
