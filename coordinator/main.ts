import { createCoordinator } from "./app.ts";
import { loadConfig, usage } from "./config.ts";
import { isLoopbackHost } from "./http/host_check.ts";
import { errorText, jsonLogger } from "./log.ts";
import { redact } from "./storage/db/open_database.ts";
import { runTokensCommand } from "./tokens_command.ts";

if (process.argv[2] === "tokens") {
  const code = await runTokensCommand(process.argv.slice(3), process.env, {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    now: () => Date.now(),
  });
  process.exit(code);
}

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
if (config.behindTlsProxy && config.tlsCertPath === null && !isLoopbackHost(config.host)) {
  log.warn("plain HTTP on a non-loopback address, as --behind-tls-proxy says a TLS-terminating proxy is in front; " +
    "anything that reaches this port without that proxy is unencrypted", { host: config.host });
}
coordinator.server.listen(config.port, config.host, () => {
  const address = coordinator.server.address();
  if (address === null || typeof address === "string") throw new Error("listening on an unexpected address");
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const scheme = config.tlsCertPath === null ? "http" : "https";
  log.info("listening", { url: `${scheme}://${host}:${address.port}`, db: redact(config.db) });
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
