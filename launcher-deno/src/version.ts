/** The launcher's version, sent at registration. */
export const launcherVersion = "0.1.0";
