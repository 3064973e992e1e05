import type { Redis } from "ioredis";
import type { JobData } from "../job-record";

/**
 * Cancellation. A queued job is removed from the queue and leaves a tombstone (its data and times)
 * so its view still answers `canceled`. A running job cannot be interrupted on the GPU; it gets a
 * cancel flag that its view shows at once and that the dispatcher reads when the upstream answers,
 * discarding the result.
 */
const flagKey = (prefix: string, id: string) => `${prefix}:job:${id}:cancel`;
const tombKey = (prefix: string, id: string) => `${prefix}:job:${id}:canceled`;

export interface CanceledTombstone {
  data: JobData;
  timestamp: number;
  canceledAt: number;
}

export async function requestCancel(
  redis: Redis,
  prefix: string,
  id: string,
  ttlSeconds: number,
): Promise<void> {
  await redis.set(flagKey(prefix, id), String(Date.now()), "EX", ttlSeconds);
}

export async function cancelRequestedAt(redis: Redis, prefix: string, id: string): Promise<number | null> {
  const v = await redis.get(flagKey(prefix, id));
  return v ? Number(v) : null;
}

export async function writeTombstone(
  redis: Redis,
  prefix: string,
  id: string,
  tomb: CanceledTombstone,
  ttlSeconds: number,
): Promise<void> {
  await redis.set(tombKey(prefix, id), JSON.stringify(tomb), "EX", ttlSeconds);
}

export async function readTombstone(
  redis: Redis,
  prefix: string,
  id: string,
): Promise<CanceledTombstone | null> {
  const v = await redis.get(tombKey(prefix, id));
  return v ? (JSON.parse(v) as CanceledTombstone) : null;
}

/** Removes a canceled job's tombstone and flag (the job is being deleted). */
export async function deleteTombstone(redis: Redis, prefix: string, id: string): Promise<void> {
  await redis.del(tombKey(prefix, id), flagKey(prefix, id));
}
