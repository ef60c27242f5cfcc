/** What a job asks of the launcher that runs it. */
export interface JobRequirements {
  executor: string;
  labels: Readonly<Record<string, string>>;
  targetLauncherId: string | null;
  targetHostname: string | null;
  /** For a resume: the launcher holding the session (null while none does). */
  sessionLauncherId?: string | null;
}

/** What a launcher offers. */
export interface LauncherTraits {
  id: string;
  hostname: string;
  executors: readonly string[];
  labels: Readonly<Record<string, string>>;
}

/**
 * Whether a launcher could run a job, ignoring capacity: it offers the
 * executor, carries every required label with the same value, is the
 * targeted launcher or host, and holds the session of a resume. The claim
 * query applies the same rules in SQL.
 */
export function launcherMatches(launcher: LauncherTraits, job: JobRequirements): boolean {
  if (!launcher.executors.includes(job.executor)) return false;
  if (job.targetLauncherId !== null && job.targetLauncherId !== launcher.id) return false;
  if (job.targetHostname !== null && job.targetHostname !== launcher.hostname) return false;
  if (job.sessionLauncherId !== undefined && job.sessionLauncherId !== launcher.id) return false;
  for (const [key, value] of Object.entries(job.labels)) {
    if (launcher.labels[key] !== value) return false;
  }
  return true;
}
