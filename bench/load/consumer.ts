// Load generator: the consumer side (launchers, workers) of one system. Starts
// `--pollers` consumers taking `--batch` jobs per fetch and prints, as NDJSON:
// {"type":"ready"} once all of them wait for work, then every 200 ms
// {"type":"progress", received, finished, latencies: {run: [ms...]}} with the
// dispatch latencies (fetch returned minus job sent) seen since the last one;
// with --expect N, {"type":"drained", at} once N jobs are done and the store
// holds none unfinished. Stops on {"cmd":"stop"} or SIGTERM.
import { monoMs, sleep } from "../support/clock.ts";
import { emit, onCommand, parseFlags } from "../support/emit.ts";
import { subjectClient, type Target } from "../subjects/subject_client.ts";

const flags = parseFlags(process.argv.slice(2));
const client = await subjectClient(JSON.parse(flags.target!) as Target);
const expect = flags.expect ? Number(flags.expect) : null;
let received = 0;
let finished = 0;
let latencies = new Map<string, number[]>();

const flush = () => {
  emit({ type: "progress", received, finished, latencies: Object.fromEntries(latencies) });
  latencies = new Map();
};
const ticker = setInterval(flush, 200);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  clearInterval(ticker);
  await client.close();
  flush();
  emit({ type: "stopped" });
  process.exit(0);
}
onCommand((c) => c.cmd === "stop" && void stop());
process.on("SIGTERM", () => void stop());

let drainedCheck = false;
await client.consume({ pollers: Number(flags.pollers ?? 1), batch: Number(flags.batch ?? 1) }, {
  received(payload, atMs) {
    if (received++ === 0) emit({ type: "first", at: atMs });
    if (payload.sentAt === undefined) return;
    const run = payload.run ?? "run";
    let list = latencies.get(run);
    if (!list) latencies.set(run, (list = []));
    list.push(atMs - payload.sentAt);
  },
  finished() {
    finished++;
    if (expect !== null && finished >= expect && !drainedCheck) {
      drainedCheck = true;
      void (async () => {
        while ((await client.pending()) > 0) await sleep(10);
        emit({ type: "drained", at: monoMs(), finished });
      })();
    }
  },
});
emit({ type: "ready", at: monoMs() });
