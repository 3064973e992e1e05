import { GatewayError } from "@zimage/core";
import type { Redis } from "ioredis";
import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";

export interface AuthFailureLimits {
  /** Failed key checks allowed per client IP within the window; the next one blocks the IP. */
  maxFailures: number;
  /** The window, and how long a block lasts. */
  windowSeconds: number;
}

/**
 * Brute-force guard on API keys: failed key checks are counted per client IP in Redis (shared by all
 * api processes, rate-limiter-flexible). Past the limit the IP is refused before any key is looked
 * up, so guessing stops paying even for a right guess. A process remembers the IPs it blocked, so
 * the check costs a valid request nothing.
 */
export class AuthFailureLimiter {
  private readonly limiter: RateLimiterRedis;
  private readonly blockedUntil = new Map<string, number>();

  constructor(redis: Redis, prefix: string, limits: AuthFailureLimits) {
    this.limiter = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${prefix}:ratelimit:auth-failures`,
      points: limits.maxFailures,
      duration: limits.windowSeconds,
      blockDuration: limits.windowSeconds,
    });
  }

  assertNotBlocked(ip: string): void {
    const until = this.blockedUntil.get(ip);
    if (until === undefined) return;
    if (until <= Date.now()) {
      this.blockedUntil.delete(ip);
      return;
    }
    throw this.refusal(until - Date.now());
  }

  /** Counts a failed key check; throws the 429 once this IP is past its limit. */
  async recordFailure(ip: string): Promise<void> {
    try {
      await this.limiter.consume(ip);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      this.blockedUntil.set(ip, Date.now() + err.msBeforeNext);
      if (this.blockedUntil.size > 10_000) this.forgetExpired();
      throw this.refusal(err.msBeforeNext);
    }
  }

  private refusal(ms: number): GatewayError {
    const seconds = Math.max(1, Math.ceil(ms / 1000));
    return new GatewayError(
      "too_many_auth_failures",
      `too many invalid API keys from this address; retry in ${seconds} s`,
      { retry_after_seconds: seconds },
    );
  }

  private forgetExpired(): void {
    const now = Date.now();
    for (const [ip, until] of this.blockedUntil) if (until <= now) this.blockedUntil.delete(ip);
  }
}
