import type { ConnectRouter } from "@connectrpc/connect";
import { JobService } from "../../gen/tether/v1/job_service_pb.ts";
import { LauncherService } from "../../gen/tether/v1/launcher_service_pb.ts";
import { OperatorService } from "../../gen/tether/v1/operator_service_pb.ts";
import { SessionService } from "../../gen/tether/v1/session_pb.ts";
import type { Engine } from "../dispatch/engine.ts";
import { jobService } from "./jobs/job_service.ts";
import { launcherService } from "./launchers/launcher_service.ts";
import { operatorService } from "./operator/operator_service.ts";
import { sessionService } from "./sessions/session_service.ts";

/** Every service of the coordinator, wired to one engine. */
export function routes(engine: Engine) {
  return (router: ConnectRouter) => {
    router.service(JobService, jobService(engine));
    router.service(SessionService, sessionService(engine));
    router.service(LauncherService, launcherService(engine));
    router.service(OperatorService, operatorService(engine));
  };
}
