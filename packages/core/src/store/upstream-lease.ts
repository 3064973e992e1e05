import type { Redis } from "ioredis";

/**
 * Ownership of one upstream by one dispatcher in the whole cluster. Only the holder fetches jobs for
 * the upstream, which (with one request at a time in the holder) gives exactly one in-flight image
 * request per GPU across any number of worker processes. The holder renews well before the TTL; if
 * it dies, the key expires and a standby process takes over.
 */
const RENEW = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end`;

export const leaseKey = (prefix: string, upstream: string) => `${prefix}:upstream:${upstream}:lease`;

export class UpstreamLease {
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    upstream: string,
    /** Unique per dispatcher instance, e.g. `host:pid:random`. */
    readonly owner: string,
    private readonly ttlMs: number,
  ) {
    this.key = leaseKey(prefix, upstream);
  }

  /** True when this owner now holds the lease (taking a free one, or still holding its own). */
  async acquire(): Promise<boolean> {
    const set = await this.redis.set(this.key, this.owner, "PX", this.ttlMs, "NX");
    if (set === "OK") return true;
    return this.renew();
  }

  /** Extends the lease; false means it was lost (expired and taken, or never held). */
  async renew(): Promise<boolean> {
    return (await this.redis.eval(RENEW, 1, this.key, this.owner, this.ttlMs)) === 1;
  }

  async release(): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key, this.owner);
  }

  async holder(): Promise<string | null> {
    return this.redis.get(this.key);
  }
}
