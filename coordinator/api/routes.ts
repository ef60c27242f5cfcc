import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter, MethodImpl, ServiceImpl } from "@connectrpc/connect";
import { JobService } from "../../gen/tether/v1/job_service_pb.ts";
import { LauncherService } from "../../gen/tether/v1/launcher_service_pb.ts";
import { OperatorService } from "../../gen/tether/v1/operator_service_pb.ts";
import { SessionService } from "../../gen/tether/v1/session_pb.ts";
import { callingLauncher } from "../auth/principal.ts";
import type { Engine } from "../dispatch/engine.ts";
import { bodyLimit } from "./body_limits.ts";
import { cancelJob } from "./jobs/cancel_job.ts";
import { createJob } from "./jobs/create_job.ts";
import { getJob } from "./jobs/get_job.ts";
import { listJobs } from "./jobs/list_jobs.ts";
import { watchJob } from "./jobs/watch_job.ts";
import { acceptJob } from "./launchers/accept_job.ts";
import { appendJobEvents } from "./launchers/append_job_events.ts";
import { deregisterLauncher } from "./launchers/deregister_launcher.ts";
import { finishJob } from "./launchers/finish_job.ts";
import { heartbeat } from "./launchers/heartbeat.ts";
import { pollJobs } from "./launchers/poll_jobs.ts";
import { registerLauncher } from "./launchers/register_launcher.ts";
import { createToken } from "./operator/create_token.ts";
import { drainLauncher } from "./operator/drain_launcher.ts";
import { listLaunchers } from "./operator/list_launchers.ts";
import { listTokens } from "./operator/list_tokens.ts";
import { removeLauncher } from "./operator/remove_launcher.ts";
import { revokeToken } from "./operator/revoke_token.ts";
import { getSession } from "./sessions/get_session.ts";
import { listSessions } from "./sessions/list_sessions.ts";

/**
 * Every RPC of the coordinator, each a function of its own file, wired to
 * one engine. Who may call which is decided before any of them runs (see
 * auth/access.ts); launcher RPCs act for the launcher their credential names.
 */
export function routes(engine: Engine) {
  const serve = <S extends DescService>(router: ConnectRouter, service: S, impl: ServiceImpl<S>) => {
    // One method at a time, each with its own body limit (see body_limits.ts).
    for (const method of service.methods) {
      const handler = (impl as Record<string, unknown>)[method.localName] as MethodImpl<typeof method>;
      router.rpc(method, handler, { readMaxBytes: bodyLimit(method, engine.config.readMaxBytes) });
    }
  };
  return (router: ConnectRouter) => {
    serve(router, JobService, {
      createJob: (req) => createJob(engine, req),
      getJob: (req) => getJob(engine, req),
      listJobs: (req) => listJobs(engine, req),
      cancelJob: (req) => cancelJob(engine, req),
      watchJob: (req, ctx) => watchJob(engine, req, ctx.signal),
    });
    serve(router, SessionService, {
      getSession: (req) => getSession(engine, req),
      listSessions: (req) => listSessions(engine, req),
    });
    serve(router, LauncherService, {
      registerLauncher: (req, ctx) => registerLauncher(engine, req, ctx),
      pollJobs: (req, ctx) => pollJobs(engine, callingLauncher(ctx), req, ctx),
      acceptJob: (req, ctx) => acceptJob(engine, callingLauncher(ctx), req),
      heartbeat: (req, ctx) => heartbeat(engine, callingLauncher(ctx), req),
      appendJobEvents: (req, ctx) => appendJobEvents(engine, callingLauncher(ctx), req),
      finishJob: (req, ctx) => finishJob(engine, callingLauncher(ctx), req),
      deregisterLauncher: (_req, ctx) => deregisterLauncher(engine, callingLauncher(ctx)),
    });
    serve(router, OperatorService, {
      listLaunchers: (req) => listLaunchers(engine, req),
      drainLauncher: (req) => drainLauncher(engine, req),
      removeLauncher: (req) => removeLauncher(engine, req),
      createToken: (req) => createToken(engine, req),
      listTokens: (req) => listTokens(engine, req),
      revokeToken: (req) => revokeToken(engine, req),
    });
  };
}
