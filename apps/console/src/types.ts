import type { JobView as CoreJobView } from "@zimage/core/job-view";

/** The API's public shapes, as the console uses them. */
export type JobView = CoreJobView;

export interface Principal {
  id: string;
  name: string;
  role: "admin" | "user";
}

export interface Session {
  principal: Principal;
  open_mode: boolean;
}

export interface UpstreamState {
  name: string;
  url: string | null;
  up: boolean | null;
  model_loaded: boolean | null;
  busy: boolean;
  current_job: string | null;
  jobs_done: number;
  last_unload_at: string | null;
  last_error: string | null;
}

export interface ApiKey {
  id: string;
  name: string;
  role: "admin" | "user";
  prefix: string;
  created_at: string;
  revoked_at: string | null;
}

export interface QueuePoint {
  at: string;
  queued: number;
  running: number;
}
