import { createCoordinator } from "./app.ts";
import { loadConfig, usage } from "./config.ts";
import { errorText, jsonLogger } from "./log.ts";
import { redact } from "./storage/open_database.ts";

const log = jsonLogger();

let config;
try {
  config = loadConfig(process.argv.slice(2), process.env);
} catch (error) {
  process.stderr.write(`${errorText(error)}\n\n${usage()}\n`);
  process.exit(2);
}
if (process.argv.includes("--help")) {
  process.stdout.write(`${usage()}\n`);
  process.exit(0);
}

let coordinator;
try {
  coordinator = await createCoordinator(config, log);
} catch (error) {
  log.error("cannot start", { error: errorText(error), db: redact(config.db) });
  process.exit(1);
}
coordinator.server.listen(config.port, config.host, () => {
  const address = coordinator.server.address();
  if (address === null || typeof address === "string") throw new Error("listening on an unexpected address");
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  log.info("listening", { url: `http://${host}:${address.port}`, db: redact(config.db) });
});

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) {
      log.warn("second signal: exiting now", { signal });
      process.exit(1);
    }
    stopping = true;
    log.info("shutting down", { signal });
    coordinator.close().then(() => process.exit(0), (error) => {
      log.error("shutdown failed", { error: errorText(error) });
      process.exit(1);
    });
  });
}
