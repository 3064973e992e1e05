import type { Job } from "bullmq";

/**
 * The dispatcher fetches jobs itself (BullMQ manual mode), so it must extend each job's lock itself:
 * a job whose lock lapses is taken for stalled and handed to another dispatcher. Extends at a third
 * of the lock duration so one slow Redis round trip does not lose it.
 */
export function keepLock(job: Job, token: string, lockMs: number, onLost: () => void): { stop(): void } {
  const timer = setInterval(
    () => {
      job.extendLock(token, lockMs).then(
        (ok) => {
          if (!ok) onLost();
        },
        () => {},
      );
    },
    Math.max(100, Math.floor(lockMs / 3)),
  );
  return { stop: () => clearInterval(timer) };
}
