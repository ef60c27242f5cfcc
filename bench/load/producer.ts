// Load generator: creates jobs open-loop at a fixed rate (each job is sent at its
// scheduled moment, whether or not earlier creates have returned), or a fixed
// count as fast as `concurrency` allows. Each job carries its send time
// (monotonic ms) and the run's name. Prints {"type":"produced", ...} and exits.
//
//   node --import tsx bench/load/producer.ts --target JSON --run NAME --rate 200 --duration-ms 5000
//   node --import tsx bench/load/producer.ts --target JSON --run NAME --count 15000 --concurrency 64
import { monoMs, sleep } from "../support/clock.ts";
import { emit, parseFlags } from "../support/emit.ts";
import { subjectClient, type Target } from "../subjects/subject_client.ts";

const flags = parseFlags(process.argv.slice(2));
const client = await subjectClient(JSON.parse(flags.target!) as Target);
const run = flags.run ?? "run";
const maxInFlight = Number(flags.concurrency ?? 256);
let inFlight = 0;
let sent = 0;
let failed = 0;
let skipped = 0;
let firstError = "";
const sends: Promise<void>[] = [];
let slotFreed: (() => void) | null = null;

function send(): void {
  inFlight++;
  sent++;
  sends.push(client.enqueue({ sentAt: monoMs(), run }).catch((e) => {
    failed++;
    firstError ||= String(e);
  }).finally(() => {
    inFlight--;
    slotFreed?.();
    slotFreed = null;
  }));
}

const start = monoMs();
if (flags.count) {
  const count = Number(flags.count);
  while (sent < count) {
    if (inFlight < maxInFlight) send();
    else await new Promise<void>((resolve) => (slotFreed = resolve));
  }
} else {
  const rate = Number(flags.rate);
  const total = Math.round((rate * Number(flags["duration-ms"])) / 1000);
  let due = 0;
  while (due < total) {
    const now = monoMs();
    // Every job whose moment has come is sent now; one that finds `concurrency` creates in flight is not sent.
    const dueNow = Math.min(total, Math.floor(((now - start) * rate) / 1000) + 1);
    for (; due < dueNow; due++) {
      if (inFlight < maxInFlight) send();
      else skipped++;
    }
    await sleep(Math.max(0, start + (due * 1000) / rate - monoMs()));
  }
}
const sentBy = monoMs();
await Promise.all(sends);
const end = monoMs();
emit({
  type: "produced", run, sent: sent - failed, failed, skipped, firstError,
  startAt: start, sendMs: sentBy - start, elapsedMs: end - start,
});
await client.close();
process.exit(0);
