import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { connectNodeAdapter } from "@connectrpc/connect-node";
import { JobService } from "../../gen/tether/v1/job_service_pb.ts";
import type { Engine } from "../dispatch/engine.ts";
import { callerError } from "../api/error_interceptor.ts";
import { writeRefusal } from "./refusal_response.ts";
import { watchTarget } from "./watch_ndjson.ts";
import { accessTable, authorize } from "../auth/access.ts";
import { authenticate } from "../auth/authenticate.ts";
import { type Principal, principalKey } from "../auth/principal.ts";

type NodeHandlerFn = ReturnType<typeof connectNodeAdapter>;
type NodeRequest = Parameters<NodeHandlerFn>[0];

/** The one target open without a credential: it says "ok" and nothing else. */
export const healthPath = "/healthz";

/** Every RPC by its path ("/tether.v1.JobService/CreateJob"). */
const rpcs = new Map<string, DescMethod>(
  [...accessTable.keys()].flatMap((service) => service.methods.map((m) => [`/${service.typeName}/${m.name}`, m])),
);

/**
 * The one door of every request, whatever its protocol (Connect JSON and
 * binary, GET, gRPC, gRPC-Web, the NDJSON watch): it authenticates the
 * caller and checks the access table before anything reads the body, so an
 * anonymous request costs no decoding and learns nothing from it. Only
 * /healthz is open. The principal reaches handlers through `principalOf`.
 */
export function authGate(engine: Engine): {
  wrap(handler: NodeHandlerFn): NodeHandlerFn;
  principalOf(req: NodeRequest): Principal | null;
} {
  const principals = new WeakMap<NodeRequest, Principal>();
  return {
    principalOf: (req) => principals.get(req) ?? null,
    wrap: (handler) => (req, res) => {
      const target = req.url ?? "/";
      const path = target.split(/[?#]/)[0]!;
      if (path === healthPath) return handler(req, res);
      const method = rpcs.get(path) ?? (watchTarget(target) ? JobService.method.watchJob : undefined);
      void (async () => {
        const principal = await authenticate(engine, req.headers.authorization ?? null);
        if (method) authorize(principal, method);
        return principal;
      })().then((principal) => {
        principals.set(req, principal);
        handler(req, res);
      }).catch((error: unknown) => {
        // A refusal; or a storage failure while checking the credential, or a bug in a handler: answered if still possible.
        const refusal = callerError(error, engine.log, { path });
        if (res.headersSent) return void res.destroy();
        writeRefusal(req, res, refusal, engine.config.readMaxBytes);
      });
    },
  };
}

/**
 * The second lock, inside Connect: a handler runs only with a principal the
 * gate let through for this very RPC (the gate's and this check read the
 * same access table).
 */
export function principalInterceptor(): Interceptor {
  return (next) => (req) => {
    const principal = req.contextValues.get(principalKey);
    if (principal === null) throw new ConnectError("this call needs a bearer token", Code.Unauthenticated);
    authorize(principal, req.method);
    return next(req);
  };
}
