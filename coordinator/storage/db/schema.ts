import type { Generated } from "kysely";

/**
 * The tables, as Kysely sees them. Times are milliseconds since the epoch;
 * states and reasons are the proto enum numbers; JSON is stored as text.
 */
export interface Tables {
  jobs: JobTable;
  job_labels: JobLabelTable;
  job_events: JobEventTable;
  sessions: SessionTable;
  launchers: LauncherTable;
  api_tokens: ApiTokenTable;
  coordinator_keys: CoordinatorKeyTable;
}

export interface JobTable {
  /** Insertion order: FIFO inside one priority. */
  seq: Generated<number>;
  id: string;
  type: number;
  state: number;
  executor: string;
  parameters: string;
  project_dir: string;
  session_id: string | null;
  labels: string;
  metadata: string;
  priority: number;
  attempt: number;
  max_attempts: number;
  retry_job_failures: number;
  launcher_id: string | null;
  target_launcher_id: string | null;
  target_hostname: string | null;
  concurrency_key: string | null;
  concurrency_limit: number;
  idempotency_key: string | null;
  /** A digest of the CreateJob request, to tell a retry from a reuse of its key. */
  request_digest: string;
  timeout_ms: number | null;
  match_timeout_ms: number;
  /** Bumped at every offer: the fencing token of the current attempt. */
  epoch: number;
  offer_poll_id: string | null;
  /**
   * The next moment the job must be looked at, by state: QUEUED, the match
   * timeout; OFFERED, the accept deadline; RUNNING, the job's timeout;
   * RETRY_WAIT, the next attempt. NULL when nothing is due.
   */
  deadline_at: number | null;
  /** Why a CANCELLING job is being stopped: CANCELLED or TIMEOUT. */
  stop_reason: number | null;
  result: string | null;
  exit_code: number | null;
  failure_reason: number;
  error: string;
  next_event_offset: number;
  event_bytes: number;
  create_time: number;
  update_time: number;
  start_time: number | null;
  finish_time: number | null;
}

export interface JobLabelTable {
  job_id: string;
  /** "key=value": a launcher must carry every one of a job's labels. */
  label: string;
}

export interface JobEventTable {
  job_id: string;
  event_offset: number;
  attempt: number;
  time: number;
  data: string;
}

export interface SessionTable {
  id: string;
  name: string | null;
  executor: string;
  executor_session_id: string | null;
  launcher_id: string | null;
  hostname: string | null;
  project_dir: string;
  state: number;
  last_job_id: string;
  result: string | null;
  create_time: number;
  update_time: number;
}

export interface LauncherTable {
  id: string;
  name: string;
  hostname: string;
  labels: string;
  executors: string;
  max_concurrency: number;
  version: string;
  state: number;
  instance_id: string;
  register_time: number;
  lease_expires_at: number;
  update_time: number;
  /** The SHA-256 of the current instance's credential; a new registration replaces it. */
  credential_hash: string;
  /** The token its latest registration came with: only that token (or an admin's) may register it again. */
  registered_by: string | null;
  /** The credential hash the latest registration replaced: its holder, and only it, is told who took over. */
  previous_credential_hash: string;
  /**
   * Slots the instance it took over may still fill until `reserved_until`
   * (that instance's lease): its processes run until its next call is refused.
   */
  reserved_slots: number;
  reserved_until: number | null;
}

export interface ApiTokenTable {
  id: string;
  name: string;
  /** The proto TokenRole number. */
  role: number;
  /** The SHA-256 of the secret, hex: the secret itself is never stored. */
  secret_hash: string;
  create_time: number;
  expire_time: number | null;
  revoke_time: number | null;
}

/** Secrets the coordinator keeps in its database, such as the key fencing tokens are signed with. */
export interface CoordinatorKeyTable {
  name: string;
  secret: string;
}
