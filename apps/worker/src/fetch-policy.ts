import { isQueueIdle, readUpstreamStates, resetFairShare, servedSlot } from "@zimage/core";
import type { Redis } from "ioredis";
import type { UpstreamMonitor } from "./upstream-monitor";

/** How the dispatcher fetches its next job: wait on the queue, look without waiting, or not at all. */
export type FetchMode = "block" | "poll" | "hold";

export interface FetchPolicyOptions {
  upstream: string;
  redis: Redis;
  prefix: string;
  monitor: UpstreamMonitor;
  healthIntervalMs: number;
}

/**
 * Which job an upstream takes next, and when. Fair share among users is decided at submit (BullMQ
 * priorities); what is decided here is whether this upstream should take the queue's next job at
 * all, given the others: when more than one upstream is free, the one whose model is loaded should
 * take it — a cold one would spend minutes loading.
 */
export class FetchPolicy {
  constructor(private readonly opts: FetchPolicyOptions) {}

  /**
   * A cold dispatcher with peers never parks in a blocking fetch (it could win a job a warm peer
   * should get); it polls, and holds back while a warm, idle, healthy peer exists. As soon as that
   * peer is busy, it fetches again.
   */
  async mode(): Promise<FetchMode> {
    if (this.opts.monitor.modelLoaded !== false) return "block";
    const states = await readUpstreamStates(this.opts.redis, this.opts.prefix);
    const peers = states.filter((s) => s.name !== this.opts.upstream);
    if (peers.length === 0) return "block";
    const freshMs = Math.max(3 * this.opts.healthIntervalMs, 5_000);
    const warmIdlePeer = peers.some(
      (s) =>
        s.owner !== null &&
        s.up === true &&
        s.model_loaded === true &&
        !s.busy &&
        s.checked_at !== null &&
        Date.now() - Date.parse(s.checked_at) < freshMs,
    );
    return warmIdlePeer ? "hold" : "poll";
  }

  /**
   * The queue came back empty: once nothing waits anywhere, the fair-share clock starts over, so a
   * user's first job after a quiet spell is not ranked against long-finished history.
   */
  async queueEmpty(queueKeys: Parameters<typeof isQueueIdle>[1]): Promise<void> {
    if ((await servedSlot(this.opts.redis, this.opts.prefix)) === 0) return;
    if (await isQueueIdle(this.opts.redis, queueKeys))
      await resetFairShare(this.opts.redis, this.opts.prefix);
  }
}
