import { type Logger, reportInternalError, type UpstreamLease } from "@zimage/core";

/** Thrown where a dispatcher finds it no longer provably holds its upstream's lease. */
export class LeaseLostError extends Error {
  override readonly name = "LeaseLostError";
}

export interface LeaseHolderOptions {
  lease: UpstreamLease;
  ttlMs: number;
  logger: Logger;
  /**
   * Leases held by this process's dispatchers, shared between them, and LEASE_SPREAD_SECONDS: a
   * process already holding k leases waits until a free one has stayed free for k × spread before
   * taking it, so the upstreams spread over the worker processes instead of all going to the first
   * one up (one event loop for every GPU). Unset or spread 0: take any free lease at once.
   */
  share?: { held: number; spreadMs: number } | undefined;
  /** Runs once the lease is taken; a failure here gives the lease back. */
  onAcquired(term: number): Promise<void>;
  /** Runs once when the lease is lost or released, after which nothing may be sent to the GPU. */
  onLost(reason: string): void;
}

/**
 * The lease of one upstream, as seen by one dispatcher: acquire, renew, a validity deadline, the
 * fencing term, release.
 *
 * Why a deadline and not a flag: a process that is paused (SIGSTOP, a long GC, a frozen VM) or cut
 * off from Redis cannot know that its lease has lapsed and been taken. So the holder trusts its lease
 * only until `validUntil`: the time the last *successful* renew (or the acquire) was *sent*, plus the
 * TTL, minus a safety margin. Redis expires the key no earlier than that, so while `valid` is true no
 * one else can hold the lease. The clock is monotonic (`performance.now()`), and it keeps running
 * while the process is stopped, so a resumed process sees its deadline passed before it does anything.
 */
export class LeaseHolder {
  private term: number | null = null;
  private validUntil = 0;
  private renewTimer: NodeJS.Timeout | undefined;
  private renewing = false;
  /** When this dispatcher, standing by, first saw the lease free (for the spread rule). */
  private freeSince: number | null = null;
  private readonly safetyMs: number;

  constructor(private readonly opts: LeaseHolderOptions) {
    // Covers the time between a validity check and the request leaving the process, and clock-rate
    // differences between this host and Redis.
    this.safetyMs = Math.max(50, Math.round(opts.ttlMs * 0.2));
  }

  get owner(): string {
    return this.opts.lease.owner;
  }

  /** The fencing term of the lease this dispatcher holds, or null. */
  get currentTerm(): number | null {
    return this.term;
  }

  /** Holding, as far as this process knows (for readiness and gauges; never for sending). */
  get holding(): boolean {
    return this.term !== null;
  }

  /** True only while the lease is provably this dispatcher's (see the class comment). */
  get valid(): boolean {
    return this.term !== null && performance.now() < this.validUntil;
  }

  /**
   * Throws LeaseLostError unless the lease is provably held; called before every fetch and
   * immediately before every request to the GPU. A passed deadline ends the term at once.
   */
  assertValid(before: string): void {
    if (this.valid) return;
    if (this.term !== null) this.lose(`lease validity deadline passed before ${before}`);
    throw new LeaseLostError(`the upstream's lease is not held (before ${before})`);
  }

  /** Asks Redis whether this term is still the current one (a round trip; see UpstreamLease.confirm). */
  async confirm(): Promise<boolean> {
    const term = this.term;
    return term !== null && (await this.opts.lease.confirm(term));
  }

  /** Keeps the lease, or tries to take it. True when it is held and valid now. */
  async hold(): Promise<boolean> {
    if (this.term !== null) {
      if (this.valid) return true;
      this.lose("lease validity deadline passed");
      return false;
    }
    if (!(await this.mayTake())) return false;
    const sentAt = performance.now();
    let term = 0;
    try {
      term = await this.opts.lease.acquire();
    } catch (err) {
      // The acquire may have reached Redis even though its answer did not reach us: give it back.
      reportInternalError(this.opts.logger, "lease_acquire", err);
      this.unshare();
      await this.opts.lease.release().catch((e: unknown) => {
        reportInternalError(this.opts.logger, "lease_release", e);
      });
      return false;
    }
    if (term === 0) {
      this.unshare();
      return false;
    }
    this.term = term;
    this.validUntil = sentAt + this.opts.ttlMs - this.safetyMs;
    this.freeSince = null;
    // Renewing starts with the term, before anything else can fail or take time.
    this.renewTimer = setInterval(() => void this.renew(), Math.max(50, Math.floor(this.opts.ttlMs / 3)));
    this.opts.logger.info({ owner: this.owner, term }, "dispatcher holds the upstream's lease");
    try {
      await this.opts.onAcquired(term);
    } catch (err) {
      reportInternalError(this.opts.logger, "lease_acquired_setup", err, { term });
      await this.release();
      return false;
    }
    return this.valid;
  }

  /** Gives the lease back (shutdown). */
  async release(): Promise<void> {
    if (this.term === null) return;
    this.lose("released");
    await this.opts.lease.release().catch((err: unknown) => {
      // The key then expires by itself after the TTL.
      reportInternalError(this.opts.logger, "lease_release", err);
    });
  }

  private async renew(): Promise<void> {
    const term = this.term;
    if (term === null) return;
    if (performance.now() >= this.validUntil) {
      this.lose("lease validity deadline passed (renewals did not get through)");
      return;
    }
    // One renewal at a time: while Redis is unreachable they would only pile up.
    if (this.renewing) return;
    this.renewing = true;
    const sentAt = performance.now();
    try {
      const ok = await this.opts.lease.renew();
      if (this.term !== term) return;
      if (ok) this.validUntil = Math.max(this.validUntil, sentAt + this.opts.ttlMs - this.safetyMs);
      else this.lose("another dispatcher holds the lease now");
    } catch (err) {
      reportInternalError(this.opts.logger, "lease_renew", err, { term });
    } finally {
      this.renewing = false;
    }
  }

  private lose(reason: string): void {
    if (this.term === null) return;
    const term = this.term;
    this.term = null;
    this.validUntil = 0;
    clearInterval(this.renewTimer);
    this.unshare();
    if (reason === "released") this.opts.logger.info({ term }, "released the upstream's lease");
    else this.opts.logger.error({ term, reason }, "lost the upstream's lease; standing by");
    this.opts.onLost(reason);
  }

  /** See LeaseHolderOptions.share. A true answer counts the lease as held before any await. */
  private async mayTake(): Promise<boolean> {
    const share = this.opts.share;
    if (!share) return true;
    if (share.held > 0 && share.spreadMs > 0) {
      const holder = await this.opts.lease.holder();
      // Our own key still there (we gave up on the deadline before Redis expired it): take it back.
      if (holder !== null && holder !== this.owner) {
        this.freeSince = null;
        return false;
      }
      this.freeSince ??= Date.now();
      if (Date.now() - this.freeSince < share.held * share.spreadMs) return false;
    }
    share.held++;
    return true;
  }

  private unshare(): void {
    if (this.opts.share) this.opts.share.held--;
  }
}
