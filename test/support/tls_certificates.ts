import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A private CA and a server certificate it signed, as files in a fresh folder and as PEM text. */
export interface TestCertificates {
  readonly dir: string;
  readonly caPath: string;
  readonly caPem: string;
  /** The server's certificate (for 127.0.0.1, ::1 and localhost) and its key. */
  readonly certPath: string;
  readonly keyPath: string;
}

/**
 * Makes a CA and a server certificate with openssl, valid two days: what
 * a self-signed deployment would make, so that a client trusts the
 * coordinator only when it is given that CA.
 */
export async function makeTestCertificates(): Promise<TestCertificates> {
  const dir = mkdtempSync(join(tmpdir(), "tether-tls-"));
  const at = (name: string) => join(dir, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl(
    ["req", "-x509", ...ec, "-days", "2", "-subj", "/CN=tether test CA"],
    ["-keyout", at("ca.key"), "-out", at("ca.pem")],
    ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
  );
  await openssl(["req", ...ec, "-subj", "/CN=localhost"], ["-keyout", at("server.key"), "-out", at("server.csr")]);
  const extensions = [
    "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost",
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature",
    "extendedKeyUsage=serverAuth",
  ];
  writeFileSync(at("server.ext"), `${extensions.join("\n")}\n`);
  await openssl(
    ["x509", "-req", "-days", "2", "-in", at("server.csr"), "-out", at("server.pem")],
    ["-CA", at("ca.pem"), "-CAkey", at("ca.key"), "-CAcreateserial", "-extfile", at("server.ext")],
  );
  return {
    dir,
    caPath: at("ca.pem"),
    caPem: readFileSync(at("ca.pem"), "utf8"),
    certPath: at("server.pem"),
    keyPath: at("server.key"),
  };
}

/** Runs openssl with the argument groups given, one after the other. */
async function openssl(...groups: string[][]): Promise<void> {
  const args = groups.flat();
  await run("/usr/bin/openssl", args).catch((err: Error & { stderr?: string }) => {
    throw new Error(`openssl ${args[0]} failed: ${err.stderr ?? err.message}`);
  });
}
