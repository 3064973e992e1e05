import { countUpstreamEvent, type Logger, reported, updateUpstreamState } from "@zimage/core";
import type { ZImageClient } from "@zimage/zimage-client";
import type { Redis } from "ioredis";
import type { WorkerMetrics } from "./metrics";
import type { UpstreamMonitor } from "./upstream-monitor";

export interface IdleUnloaderOptions {
  name: string;
  /** 0 disables unloading. */
  idleMs: number;
  client: ZImageClient;
  monitor: UpstreamMonitor;
  metrics: WorkerMetrics;
  redis: Redis;
  prefix: string;
  logger: Logger;
  /** Asked before the unload is sent: the dispatcher must provably hold the lease, with no job of its own in flight. */
  mayUnload?: () => boolean;
}

/**
 * Frees the GPU's ~32 GB of VRAM when an upstream has had no job for `idleMs`. The dispatcher asks
 * only when its queue fetch came back empty and nothing is in flight, so an unload never races a
 * job of ours; each job restarts the timer (`touch`).
 */
export class IdleUnloader {
  private lastActivity = Date.now();

  constructor(private readonly opts: IdleUnloaderOptions) {}

  touch(): void {
    this.lastActivity = Date.now();
  }

  async maybeUnload(): Promise<boolean> {
    const { idleMs, monitor } = this.opts;
    if (idleMs <= 0 || monitor.modelLoaded !== true || monitor.up !== true) return false;
    const idleFor = Date.now() - this.lastActivity;
    if (idleFor < idleMs) return false;
    try {
      // Someone else's request (e.g. from a crashed worker) may still run: leave the model alone.
      if ((await this.opts.client.status()).busy) return false;
      if (this.opts.mayUnload && !this.opts.mayUnload()) return false;
      await this.opts.client.unload();
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message }, "idle unload failed");
      this.touch(); // try again after another idle period rather than on every loop
      return false;
    }
    monitor.setUnloaded();
    this.opts.metrics.upstreamUnloads.inc({ upstream: this.opts.name });
    const log = this.opts.logger;
    await updateUpstreamState(this.opts.redis, this.opts.prefix, this.opts.name, {
      last_unload_at: new Date().toISOString(),
    }).catch(reported(log, "upstream_state_write"));
    await countUpstreamEvent(this.opts.redis, this.opts.prefix, this.opts.name, "unloads").catch(
      reported(log, "upstream_state_write"),
    );
    this.opts.logger.info({ idleMs: idleFor }, "upstream model unloaded after idle timeout");
    return true;
  }
}
