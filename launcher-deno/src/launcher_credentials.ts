import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

/** Thrown (and the launcher stops) when the coordinator refuses this instance's own current credential. */
export class CredentialRefusedError extends Error {
  override name = "CredentialRefusedError";
}

/**
 * Which bearer token each call carries: RegisterLauncher the registration
 * token from the config, every other call the credential the latest
 * registration returned. A call refused UNAUTHENTICATED although it carried
 * the current credential means that a newer instance took this launcher
 * over (or its credential was withdrawn): `onRefused` is told once, and the
 * launcher stops. A refusal of a credential an earlier registration of this
 * same instance returned is only a call that raced the new registration,
 * and is retried like any transient failure.
 */
export class LauncherCredentials {
  #credential: string | undefined;
  #refused = false;
  readonly #registrationToken: () => string | undefined;
  readonly #onRefused: (error: CredentialRefusedError) => void;

  constructor(registrationToken: () => string | undefined, onRefused: (error: CredentialRefusedError) => void) {
    this.#registrationToken = registrationToken;
    this.#onRefused = onRefused;
  }

  /** Takes the credential a registration returned. */
  set(credential: string): void {
    this.#credential = credential;
  }

  /** The interceptor that sends the right token and watches for refusals of the current credential. */
  interceptor(): Interceptor {
    return (next) => async (request) => {
      const registering = request.method.name === "RegisterLauncher";
      const token = registering ? this.#registrationToken() : this.#credential;
      if (token) request.header.set("Authorization", `Bearer ${token}`);
      try {
        return await next(request);
      } catch (err) {
        if (
          !registering && !this.#refused && token !== undefined && token === this.#credential &&
          err instanceof ConnectError && err.code === Code.Unauthenticated
        ) {
          this.#refused = true;
          this.#onRefused(
            new CredentialRefusedError(`The coordinator refused this launcher's credential: ${err.rawMessage}`),
          );
        }
        throw err;
      }
    };
  }
}
