import { type Client, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { LauncherService } from "../../gen/tether/v1/launcher_service_pb.ts";

/** A LauncherService client. */
export type LauncherClient = Client<typeof LauncherService>;

/**
 * A client for the coordinator at `baseUrl` over Connect (binary protobuf on
 * fetch, HTTP/1.1), sending `token` as a bearer token when given.
 */
export function createLauncherClient(baseUrl: string, options: { token?: string } = {}): LauncherClient {
  const interceptors: Interceptor[] = [];
  if (options.token) {
    const authorization = `Bearer ${options.token}`;
    interceptors.push((next) => (request) => {
      request.header.set("Authorization", authorization);
      return next(request);
    });
  }
  return createClient(LauncherService, createConnectTransport({ baseUrl, useBinaryFormat: true, interceptors }));
}
