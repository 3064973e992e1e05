import type { ObjectStore } from "./object-store";

/**
 * Deletes everything stored for one job: its result images and its input. Best effort: a file
 * left behind costs disk, not correctness, and must not stop the job's deletion in Redis.
 */
export async function deleteJobFiles(store: ObjectStore, jobId: string): Promise<void> {
  await Promise.all([
    store.deletePrefix(`results/${jobId}/`).catch(() => 0),
    store.deletePrefix(`inputs/${jobId}/`).catch(() => 0),
  ]);
}
