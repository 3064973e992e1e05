/**
 * Thrown by the last check before a request leaves for the GPU when the job's deadline
 * (`cancel_after`, issue #19) has passed — the pre-flight wait for a busy upstream can outlast it.
 * Like LeaseLostError it means nothing was sent: the job is not failed, it ends `canceled` with
 * `deadline_exceeded` (JobLifecycle).
 */
export class DeadlinePassedError extends Error {
  constructor() {
    super("the job's deadline passed before it was sent");
    this.name = "DeadlinePassedError";
  }
}
