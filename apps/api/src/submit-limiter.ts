import { GatewayError } from "@zimage/core";
import type { Redis } from "ioredis";
import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";

/**
 * Per-key submit rate (rate-limiter-flexible on Redis, so all api processes share the count). Keys
 * can have different rates, so there is one limiter per distinct rate.
 */
export class SubmitLimiter {
  private readonly limiters = new Map<number, RateLimiterRedis>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async consume(owner: string, perMinute: number): Promise<void> {
    let limiter = this.limiters.get(perMinute);
    if (!limiter) {
      limiter = new RateLimiterRedis({
        storeClient: this.redis,
        keyPrefix: `${this.prefix}:ratelimit:submit:${perMinute}`,
        points: perMinute,
        duration: 60,
      });
      this.limiters.set(perMinute, limiter);
    }
    try {
      await limiter.consume(owner);
    } catch (err) {
      if (err instanceof RateLimiterRes) {
        const retryAfter = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
        throw new GatewayError(
          "rate_limited",
          `at most ${perMinute} submits a minute; retry in ${retryAfter} s`,
          {
            retry_after_seconds: retryAfter,
          },
        );
      }
      throw err;
    }
  }
}
