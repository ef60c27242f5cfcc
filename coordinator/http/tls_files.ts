import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import type { CoordinatorConfig } from "../config.ts";
import type { TlsMaterial } from "./server.ts";

/**
 * Reads --tls-cert and --tls-key (null when TLS is not configured) and checks
 * that they make a usable pair, so a bad file stops the start with a message
 * that names it, before the database is opened.
 */
export function readTlsFiles(config: Pick<CoordinatorConfig, "tlsCertPath" | "tlsKeyPath">): TlsMaterial | null {
  if (config.tlsCertPath === null || config.tlsKeyPath === null) return null;
  const read = (path: string, flag: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new Error(`cannot read ${flag} "${path}": ${(error as Error).message}`);
    }
  };
  const material = { cert: read(config.tlsCertPath, "--tls-cert"), key: read(config.tlsKeyPath, "--tls-key") };
  try {
    createSecureContext(material);
  } catch (error) {
    throw new Error(
      `--tls-cert "${config.tlsCertPath}" and --tls-key "${config.tlsKeyPath}" are not a PEM certificate chain ` +
        `and its private key: ${(error as Error).message}`,
    );
  }
  return material;
}
