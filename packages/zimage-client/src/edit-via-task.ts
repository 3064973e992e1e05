import { setTimeout as sleep } from "node:timers/promises";
import { UpstreamConnectionError, UpstreamTimeoutError } from "./errors";
import { taskFailureError } from "./task-failure";
import type { CallOptions, EditViaTaskOptions, ImagesResponse, TaskState } from "./types";

/** What the poll loop needs from the client; an interface so the loop stays out of the client class. */
export interface TaskOps {
  submit(opts: CallOptions): Promise<{ taskId: string }>;
  poll(taskId: string, opts: CallOptions): Promise<TaskState>;
  /** The task's URL as errors show it. */
  taskUrl(taskId: string): string;
  /** A poll is a control call: it never waits longer than this (nor past the deadline). */
  controlTimeoutMs: number;
}

/**
 * Submits an async edit and polls its task until it completes, fails, or the deadline passes. The
 * deadline covers everything, like the image timeout of a sync edit. Connection failures while
 * polling are tolerated for one control timeout, so a server that restarts quickly is seen for what
 * it is (its answer "Task not found" → UpstreamTaskLostError) rather than as a refused connection.
 */
export async function runEditTask(ops: TaskOps, opts: EditViaTaskOptions): Promise<ImagesResponse> {
  const { signal, timeoutMs, pollIntervalMs } = opts;
  if (!(pollIntervalMs > 0)) throw new TypeError(`pollIntervalMs must be positive, got ${pollIntervalMs}`);
  const deadline = performance.now() + timeoutMs;
  // Whole milliseconds: AbortSignal.timeout refuses fractions.
  const remaining = () => Math.ceil(deadline - performance.now());
  const withSignal = signal ? { signal } : {};
  const { taskId } = await ops.submit({ ...withSignal, timeoutMs });
  const pastDeadline = (cause?: unknown) =>
    new UpstreamTimeoutError(`upstream task ${taskId} did not finish within ${timeoutMs} ms`, timeoutMs, {
      upstreamUrl: ops.taskUrl(taskId),
      ...(cause !== undefined ? { cause } : {}),
    });
  let unreachableSince: number | null = null;
  for (;;) {
    await pause(Math.min(pollIntervalMs, Math.max(remaining(), 0)), signal);
    if (remaining() <= 0) throw pastDeadline();
    let state: TaskState;
    try {
      state = await ops.poll(taskId, {
        ...withSignal,
        timeoutMs: Math.min(ops.controlTimeoutMs, remaining()),
      });
      unreachableSince = null;
    } catch (err) {
      if (err instanceof UpstreamTimeoutError && remaining() <= 0) throw pastDeadline(err);
      if (err instanceof UpstreamConnectionError) {
        unreachableSince ??= performance.now();
        if (performance.now() - unreachableSince < ops.controlTimeoutMs) continue;
      }
      throw err;
    }
    if (state.status === "completed") return state.response;
    if (state.status === "failed") throw taskFailureError(taskId, state.error, ops.taskUrl(taskId));
  }
}

/** A pause that an abort ends at once, rejecting with the caller's reason like every other call. */
async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms, undefined, signal ? { signal } : undefined);
  } catch (err) {
    signal?.throwIfAborted();
    throw err;
  }
}
