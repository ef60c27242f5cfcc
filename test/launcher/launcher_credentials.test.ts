import { Code, ConnectError, type UnaryRequest } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { LauncherService } from "../../gen/tether/v1/launcher_service_pb.ts";
import { type CredentialRefusedError, LauncherCredentials } from "../../launcher-deno/src/coordinator/launcher_credentials.ts";

/** A call of `method` through the interceptor, answered by `answer` (our own seam: no coordinator needed). */
function call(credentials: LauncherCredentials, method: string, answer: (authorization: string | null) => Promise<void>) {
  const request = {
    method: LauncherService.methods.find((m) => m.name === method)!,
    header: new Headers(),
  } as unknown as UnaryRequest;
  return credentials.interceptor()(async (req) => {
    await answer(req.header.get("Authorization"));
    return {} as never;
  })(request);
}

const refused = () => Promise.reject(new ConnectError("this credential was replaced", Code.Unauthenticated));
const deferred = () => {
  let resolve!: () => void;
  return { promise: new Promise<void>((r) => (resolve = r)), resolve };
};

describe("the launcher's credentials", () => {
  it("sends the registration token only to register, and the credential everywhere else", async () => {
    const credentials = new LauncherCredentials(() => "tth_registration", () => {});
    credentials.set("thl_credential");
    const sent: (string | null)[] = [];
    await call(credentials, "RegisterLauncher", async (auth) => void sent.push(auth));
    await call(credentials, "PollJobs", async (auth) => void sent.push(auth));
    expect(sent).toEqual(["Bearer tth_registration", "Bearer thl_credential"]);
  });

  it("stops the launcher, once, when its current credential is refused and it is not registering", async () => {
    const stops: CredentialRefusedError[] = [];
    const credentials = new LauncherCredentials(() => "tth_r", (error) => stops.push(error));
    credentials.set("thl_a");
    await expect(call(credentials, "Heartbeat", refused)).rejects.toThrow(ConnectError);
    await expect(call(credentials, "PollJobs", refused)).rejects.toThrow(ConnectError);
    expect(stops.map((e) => e.message)).toEqual(["The coordinator refused this launcher's credential: this credential was replaced"]);
  });

  it("only retries a call that raced this instance's own registration, even one whose answer was lost", async () => {
    const stops: unknown[] = [];
    const credentials = new LauncherCredentials(() => "tth_r", (error) => stops.push(error));
    credentials.set("thl_a");
    // A call in flight when a registration (with its retries) begins, refused after the new credential was committed.
    const inFlight = deferred();
    const racing = call(credentials, "AppendJobEvents", () => inFlight.promise.then(refused));
    const registration = deferred();
    const registered = credentials.registering(registration.promise);
    inFlight.resolve();
    await expect(racing).rejects.toThrow(ConnectError);
    // A call sent while the registration is still under way (its answer lost, a retry pending).
    await expect(call(credentials, "FinishJob", refused)).rejects.toThrow(ConnectError);
    registration.resolve();
    await registered;
    credentials.set("thl_b");
    expect(stops).toEqual([]);
    // Once registered again, a refusal of the new credential is final.
    await expect(call(credentials, "Heartbeat", refused)).rejects.toThrow(ConnectError);
    expect(stops).toHaveLength(1);
  });

  it("never stops the launcher for a refused registration (that is the registration's own failure)", async () => {
    const stops: unknown[] = [];
    const credentials = new LauncherCredentials(() => "tth_r", (error) => stops.push(error));
    credentials.set("thl_a");
    await expect(call(credentials, "RegisterLauncher", refused)).rejects.toThrow(ConnectError);
    expect(stops).toEqual([]);
  });
});
