import type { Redis } from "ioredis";

/**
 * Ownership of one upstream by one dispatcher in the whole cluster. Only the holder fetches jobs for
 * the upstream, which (with one request at a time in the holder) gives exactly one in-flight image
 * request per GPU across any number of worker processes. The holder renews well before the TTL; if
 * it dies, the key expires and a standby process takes over.
 *
 * Every successful acquire bumps the upstream's fencing counter and hands its value (the term) to
 * the new holder, so a holder that was paused or cut off and comes back can be told apart from the
 * current one: `confirm(term)` is true only while the lease is still this owner's and no one has
 * acquired it since.
 */
const ACQUIRE = `
if redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2], "NX") then
  return redis.call("INCR", KEYS[2])
end
if redis.call("GET", KEYS[1]) == ARGV[1] then
  redis.call("PEXPIRE", KEYS[1], ARGV[2])
  return tonumber(redis.call("GET", KEYS[2]) or "0")
end
return 0`;
const RENEW = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end`;
const CONFIRM = `if redis.call("GET", KEYS[1]) == ARGV[1] and redis.call("GET", KEYS[2]) == ARGV[2] then return 1 else return 0 end`;

export const leaseKey = (prefix: string, upstream: string) => `${prefix}:upstream:${upstream}:lease`;
const fenceKey = (prefix: string, upstream: string) => `${prefix}:upstream:${upstream}:lease-term`;

export class UpstreamLease {
  private readonly key: string;
  private readonly fence: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    upstream: string,
    /** Unique per dispatcher instance, e.g. `host:pid:random`. */
    readonly owner: string,
    private readonly ttlMs: number,
  ) {
    this.key = leaseKey(prefix, upstream);
    this.fence = fenceKey(prefix, upstream);
  }

  /**
   * The term (fencing token, ≥ 1) when this owner now holds the lease: a new term when it took a
   * free lease, the current one when it already held it (and renewed it). 0 when someone else holds it.
   */
  async acquire(): Promise<number> {
    return Number(await this.redis.eval(ACQUIRE, 2, this.key, this.fence, this.owner, this.ttlMs));
  }

  /** Extends the lease; false means it was lost (expired and taken, or never held). */
  async renew(): Promise<boolean> {
    return (await this.redis.eval(RENEW, 1, this.key, this.owner, this.ttlMs)) === 1;
  }

  /** True while this owner holds the lease in `term`: no one has acquired it since. */
  async confirm(term: number): Promise<boolean> {
    return (await this.redis.eval(CONFIRM, 2, this.key, this.fence, this.owner, String(term))) === 1;
  }

  async release(): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key, this.owner);
  }

  async holder(): Promise<string | null> {
    return this.redis.get(this.key);
  }

  /** The latest term handed out for this upstream (0 before the first acquire). */
  async latestTerm(): Promise<number> {
    return Number((await this.redis.get(this.fence)) ?? 0);
  }
}
