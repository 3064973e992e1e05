import { type Logger, reportInternalError } from "@zimage/core";
import type { Job } from "bullmq";

/**
 * The dispatcher fetches jobs itself (BullMQ manual mode), so it must extend each job's lock itself:
 * a job whose lock lapses is taken for stalled and handed to another dispatcher. Extends at a third
 * of the lock duration so one slow Redis round trip does not lose it.
 */
export function keepLock(
  job: Job,
  token: string,
  lockMs: number,
  logger: Logger,
  onLost: () => void,
): { stop(): void } {
  const timer = setInterval(
    () => {
      job.extendLock(token, lockMs).then(
        (ok) => {
          if (!ok) onLost();
        },
        // The next tick tries again; a lock that really lapses is reported by onLost.
        (err: unknown) => reportInternalError(logger, "job_lock_extend", err, { jobId: job.id }),
      );
    },
    Math.max(100, Math.floor(lockMs / 3)),
  );
  return { stop: () => clearInterval(timer) };
}
