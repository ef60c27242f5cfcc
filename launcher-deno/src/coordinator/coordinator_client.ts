import { type Client, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { LauncherService } from "../../../gen/tether/v1/launcher_service_pb.ts";

/** A LauncherService client. */
export type LauncherClient = Client<typeof LauncherService>;

export interface LauncherClientOptions {
  /** The bearer token, asked for on every request, so the caller can switch credentials; none when it returns undefined. */
  readonly token?: () => string | undefined;
  /** PEM of a CA to trust, besides the default roots, for an https coordinator. */
  readonly caCertPem?: string;
  /** Run on every call, after the token is set (the launcher's LauncherCredentials sets its own). */
  readonly interceptors?: readonly Interceptor[];
}

/**
 * A client for the coordinator at `baseUrl` over Connect (binary protobuf on
 * fetch: HTTP/1.1, or HTTP/2 when TLS negotiates it).
 */
export function createLauncherClient(baseUrl: string, options: LauncherClientOptions = {}): LauncherClient {
  const { token, caCertPem } = options;
  const interceptors: Interceptor[] = [...options.interceptors ?? []];
  if (token) {
    interceptors.push((next) => (request) => {
      const current = token();
      if (current) request.header.set("Authorization", `Bearer ${current}`);
      return next(request);
    });
  }
  let fetchWithCa: typeof fetch | undefined;
  if (caCertPem !== undefined) {
    // A private CA reaches fetch only through a Deno HttpClient; the coordinator's certificate is checked against it.
    const client = Deno.createHttpClient({ caCerts: [caCertPem] });
    fetchWithCa = (input, init) => fetch(input, { ...init, client });
  }
  return createClient(
    LauncherService,
    createConnectTransport({ baseUrl, useBinaryFormat: true, interceptors, fetch: fetchWithCa }),
  );
}
