import { classifyFailure } from "./classify-failure";
import { type UpstreamHttpError, UpstreamTaskLostError } from "./errors";

// What the reference server answers (200, status "failed") for a task id it does not know, which
// after a successful submit means it restarted: tasks live in its memory only.
const TASK_NOT_FOUND = /task not found/i;

/**
 * The error for a failed async task: lost (the server restarted), else classified exactly like a
 * 500 whose body is the task's error, since the server reports the same exception text there.
 */
export function taskFailureError(
  taskId: string,
  error: string,
  upstreamUrl: string,
): UpstreamTaskLostError | UpstreamHttpError {
  if (TASK_NOT_FOUND.test(error)) {
    return new UpstreamTaskLostError(
      `upstream no longer knows task ${taskId} (it restarted): ${error}`,
      taskId,
      { upstreamUrl, body: error },
    );
  }
  const why = error.replace(/\s+/g, " ").trim();
  return classifyFailure({
    status: 500,
    text: error,
    upstreamUrl,
    message: `upstream task ${taskId} failed: ${why === "" ? "(no error text)" : why.slice(0, 300)}`,
  });
}
