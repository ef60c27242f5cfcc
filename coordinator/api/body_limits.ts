import type { DescMethod } from "@bufbuild/protobuf";

const KiB = 1024;

/**
 * The largest request body each RPC takes, so that a small call cannot bring
 * a large body's decoding cost: room for what its fields may hold (the
 * protobuf binary form of a Struct runs up to about 1.4 times its JSON), and
 * no more. The coordinator's --read-max-bytes caps them all; RPCs not named
 * take 64 KiB.
 */
const limits: Readonly<Record<string, number>> = {
  // Parameters of at most 256 KiB, labels and metadata.
  "tether.v1.JobService.CreateJob": 512 * KiB,
  // A batch of up to 1,000 events of up to 1 MiB each: the largest body there is.
  "tether.v1.LauncherService.AppendJobEvents": Infinity,
  // A result of at most 1 MiB and an error of at most 64 KiB.
  "tether.v1.LauncherService.FinishJob": 2048 * KiB,
  // Up to 1,000 jobs listed by id and fencing token.
  "tether.v1.LauncherService.Heartbeat": 512 * KiB,
  "tether.v1.LauncherService.PollJobs": 256 * KiB,
  // Up to 64 executor profiles and 64 labels.
  "tether.v1.LauncherService.RegisterLauncher": 128 * KiB,
};

/** The largest body `method` takes, within the coordinator's cap. */
export function bodyLimit(method: DescMethod, readMaxBytes: number): number {
  return Math.min(limits[`${method.parent.typeName}.${method.name}`] ?? 64 * KiB, readMaxBytes);
}
