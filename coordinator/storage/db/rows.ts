import type { Selectable } from "kysely";
import type { ApiTokenTable, JobTable, LauncherTable, SessionTable } from "./schema.ts";

export type JobRow = Selectable<JobTable>;
export type SessionRow = Selectable<SessionTable>;
export type LauncherRow = Selectable<LauncherTable>;
export type ApiTokenRow = Selectable<ApiTokenTable>;
