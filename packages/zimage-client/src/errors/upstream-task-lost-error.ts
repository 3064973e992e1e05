import { UpstreamError, type UpstreamErrorInit } from "./upstream-error";

/**
 * The server no longer knows an async task it accepted: the reference server keeps tasks in memory
 * only and answers an unknown id with 200 `{"status": "failed", "error": "Task not found ..."}`, so
 * this means it restarted (and its models are unloaded). Retryable: submitting again works.
 */
export class UpstreamTaskLostError extends UpstreamError {
  readonly taskId: string;

  constructor(message: string, taskId: string, init: UpstreamErrorInit) {
    super("upstream_unavailable", message, true, init);
    this.name = "UpstreamTaskLostError";
    this.taskId = taskId;
  }
}
