import type { Redis } from "ioredis";

/** One delivery attempt, as `GET /v1/jobs/:id/deliveries` shows it. */
export interface DeliveryAttempt {
  webhook_id: string;
  event: string;
  attempt: number;
  at: string;
  url: string;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  /** When the next attempt is due, or null when this one ended the delivery. */
  next_retry_at: string | null;
  /** 0 for the delivery as first sent; n for its n-th redelivery, whose attempts count from 1 again. */
  redelivery: number;
}

const key = (prefix: string, jobId: string) => `${prefix}:job:${jobId}:deliveries`;

export async function recordDeliveryAttempt(
  redis: Redis,
  prefix: string,
  jobId: string,
  attempt: DeliveryAttempt,
  ttlSeconds: number,
): Promise<void> {
  await redis
    .multi()
    .rpush(key(prefix, jobId), JSON.stringify(attempt))
    .ltrim(key(prefix, jobId), -200, -1)
    .expire(key(prefix, jobId), Math.ceil(ttlSeconds))
    .exec();
}

export async function listDeliveryAttempts(
  redis: Redis,
  prefix: string,
  jobId: string,
): Promise<DeliveryAttempt[]> {
  // Attempts recorded before redeliveries existed carry no `redelivery`: they were first sends.
  return (await redis.lrange(key(prefix, jobId), 0, -1)).map((s) => ({
    redelivery: 0,
    ...(JSON.parse(s) as Omit<DeliveryAttempt, "redelivery">),
  }));
}
