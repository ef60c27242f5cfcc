import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

/** Thrown (and the launcher stops) when the coordinator refuses this instance's own current credential. */
export class CredentialRefusedError extends Error {
  override name = "CredentialRefusedError";
}

/**
 * Which bearer token each call carries: RegisterLauncher the registration
 * token from the config, every other call the credential the latest
 * registration returned. A call refused UNAUTHENTICATED although it carried
 * the current credential, with no registration of this instance under way
 * or begun since it was sent, means that another instance took this
 * launcher over (or its credential was withdrawn): `onRefused` is told once,
 * and the launcher stops. A call that raced this instance's own
 * registration (whose commit replaced the credential the call carried, even
 * when its answer was lost and it is being retried) is only retried, like
 * any transient failure.
 */
export class LauncherCredentials {
  #credential: string | undefined;
  #refused = false;
  /** Registrations begun so far, and how many are still under way. */
  #registrations = 0;
  #registering = 0;
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

  /** Marks a registration, with all its retries, as under way until `done` settles. */
  registering<T>(done: Promise<T>): Promise<T> {
    this.#registrations += 1;
    this.#registering += 1;
    return done.finally(() => {
      this.#registering -= 1;
    });
  }

  /** The interceptor that sends the right token and watches for refusals of the current credential. */
  interceptor(): Interceptor {
    return (next) => async (request) => {
      const registering = request.method.name === "RegisterLauncher";
      const token = registering ? this.#registrationToken() : this.#credential;
      const registrationsAtSend = this.#registrations;
      if (token) request.header.set("Authorization", `Bearer ${token}`);
      try {
        return await next(request);
      } catch (err) {
        if (
          !registering && !this.#refused && token !== undefined && token === this.#credential &&
          this.#registering === 0 && registrationsAtSend === this.#registrations &&
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
