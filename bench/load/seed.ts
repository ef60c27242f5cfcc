// Pre-creates `--count` jobs in one system (for a burn-down), then prints {"type":"seeded"}.
import { monoMs } from "../support/clock.ts";
import { emit, parseFlags } from "../support/emit.ts";
import { subjectClient, type Target } from "../subjects/subject_client.ts";

const flags = parseFlags(process.argv.slice(2));
const client = await subjectClient(JSON.parse(flags.target!) as Target);
const start = monoMs();
await client.seed(Number(flags.count));
emit({ type: "seeded", count: Number(flags.count), ms: monoMs() - start });
await client.close();
process.exit(0);
