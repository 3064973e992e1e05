import { setTimeout as sleep } from "node:timers/promises";
import { claimIdempotencyKey, GatewayError, takeOverIdempotencyKey } from "@zimage/core";
import type { Redis } from "ioredis";

export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
/** How long a request waits for a concurrent one with the same Idempotency-Key to queue its work. */
const IDEMPOTENCY_WAIT_MS = 10_000;
const IDEMPOTENCY_POLL_MS = 25;
/** A claim still submitting after this long belongs to a request that died: a retry takes it over. */
const IDEMPOTENCY_STALE_MS = 30_000;

export function checkIdempotencyKey(idemKey: string): void {
  if (!IDEMPOTENCY_KEY.test(idemKey)) {
    throw new GatewayError(
      "invalid_idempotency_key",
      "Idempotency-Key must be 1-255 printable ASCII characters",
    );
  }
}

/**
 * Claims the Idempotency-Key for a new submit (a job or a batch: `newId`), or answers with what an
 * earlier request with the key created (`existing(id)`, null when that was never queued). A concurrent
 * request with the key is waited for (polling its claim), so the pair queues once and spends one rate
 * point and one fair-share slot.
 */
export async function claimOrReplay<T>(
  deps: { redis: Redis; prefix: string },
  owner: string,
  idemKey: string,
  newId: string,
  fingerprint: string,
  existing: (id: string) => Promise<T | null>,
): Promise<{ id: string; replay?: undefined } | { replay: T }> {
  const { redis, prefix } = deps;
  const deadline = Date.now() + IDEMPOTENCY_WAIT_MS;
  for (;;) {
    const claim = await claimIdempotencyKey(redis, prefix, owner, idemKey, newId, fingerprint);
    if (claim.claimed) return { id: newId };
    if (claim.fingerprint !== fingerprint) {
      throw new GatewayError(
        "idempotency_key_reused",
        "this Idempotency-Key was used with a different request",
      );
    }
    if (claim.submitting && Date.now() - claim.claimedAt < IDEMPOTENCY_STALE_MS) {
      if (Date.now() >= deadline) {
        throw new GatewayError(
          "idempotency_key_in_use",
          "a request with this Idempotency-Key is still being processed; retry shortly",
          { retry_after_seconds: 1 },
        );
      }
      await sleep(IDEMPOTENCY_POLL_MS);
      continue;
    }
    const found = await existing(claim.jobId);
    if (found) return { replay: found };
    // The request that claimed the key died mid-submit, or what it made was removed since, and it is
    // not queued: finish that submission under the same id (one taker; the others wait for it).
    if (await takeOverIdempotencyKey(redis, prefix, owner, idemKey, claim.record)) {
      return { id: claim.jobId };
    }
  }
}
