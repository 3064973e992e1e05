import type { ObjectStore } from "./object-store";

/**
 * Deletes everything stored for one job: its result images and its input. Never rejects: a file
 * left behind costs disk, not correctness, and must not stop the job's deletion in Redis. But
 * nothing retries it once the job is gone, so each prefix that could not be deleted is handed to
 * `onError` (the caller logs and counts it: `reported(logger, "job_files_delete")`).
 */
export async function deleteJobFiles(
  store: ObjectStore,
  jobId: string,
  onError?: (err: unknown, context: { jobId: string; prefix: string }) => void,
): Promise<void> {
  const remove = (prefix: string) =>
    store.deletePrefix(prefix).catch((err: unknown) => {
      onError?.(err, { jobId, prefix });
      return 0;
    });
  await Promise.all([remove(`results/${jobId}/`), remove(`inputs/${jobId}/`)]);
}
