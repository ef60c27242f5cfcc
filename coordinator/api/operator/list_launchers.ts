import type { MessageInitShape } from "@bufbuild/protobuf";
import { LauncherStateSchema } from "../../../gen/tether/v1/launcher_pb.ts";
import type { ListLaunchersRequest, ListLaunchersResponseSchema } from "../../../gen/tether/v1/operator_service_pb.ts";
import type { Engine } from "../../dispatch/engine.ts";
import { listLaunchers as selectLaunchers } from "../../storage/list_launchers.ts";
import { launcherToProto } from "../to_proto.ts";
import { checkEnumFilter, decodePageToken, nextPageToken, pageSize } from "../validate.ts";

const isCursor = (v: unknown): v is { hostname: string; name: string } =>
  typeof v === "object" && v !== null && typeof (v as { hostname: unknown }).hostname === "string" &&
  typeof (v as { name: unknown }).name === "string";

/** About how many characters of labels and executors one page carries (its answer stays near 1 MiB). */
const pageChars = 1024 * 1024;

/** The launchers seen, in the states asked for. */
export async function listLaunchers(
  engine: Engine,
  req: ListLaunchersRequest,
): Promise<MessageInitShape<typeof ListLaunchersResponseSchema>> {
  const limit = pageSize(req.pageSize);
  const { launchers, more } = await selectLaunchers(engine.db, {
    states: checkEnumFilter(req.states, LauncherStateSchema, "states"),
    after: decodePageToken(req.pageToken, isCursor),
    limit,
    withinChars: pageChars,
  });
  return {
    launchers: launchers.map(launcherToProto),
    nextPageToken: nextPageToken(launchers, more, (last) => ({ hostname: last.hostname, name: last.name })),
  };
}
