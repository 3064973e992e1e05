/** The API's public shapes, as the console uses them: the gateway's own types where it exports them. */

export type {
  ApiKeyRecord as ApiKey,
  BatchView,
  QueueDepthPoint as QueuePoint,
  UpstreamState,
} from "@zimage/core";
export type { JobView } from "@zimage/core/job-view";

export interface Principal {
  id: string;
  name: string;
  role: "admin" | "user";
}

/** `GET /v1/session` (apps/api/src/routes/session.ts). */
export interface Session {
  principal: Principal;
  open_mode: boolean;
}
