import {
  type LoadedPipeline,
  type Logger,
  reported,
  type UpstreamModes,
  updateUpstreamState,
} from "@zimage/core";
import { modelIds, type ZImageClient } from "@zimage/zimage-client";
import type { Redis } from "ioredis";

export interface UpstreamMonitorOptions {
  name: string;
  client: ZImageClient;
  redis: Redis;
  prefix: string;
  intervalMs: number;
  logger: Logger;
}

/**
 * Periodic `/health` probe of one upstream, run by the dispatcher holding its lease. An unreachable
 * upstream is marked down and gets no jobs until it answers again (jobs wait, they do not fail).
 * The model's loaded state comes from the same probe, so the idle unloader and the "prefer a warm
 * upstream" rule see what the server itself reports.
 */
export class UpstreamMonitor {
  up: boolean | null = null;
  modelLoaded: boolean | null = null;
  /** Which pipeline the server has loaded (`all` for a single model); null: it does not say. */
  loadedPipeline: LoadedPipeline | null = null;
  /** How it runs each job kind (discovered or pinned); null until known: both kinds are tried. */
  modes: UpstreamModes | null = null;
  /** Set while this dispatcher has a request in flight: a slow /health then is not an outage. */
  busy = false;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** Bumped by every start and stop, so a probe still in flight from an older start ends its chain. */
  private generation = 0;

  constructor(private readonly opts: UpstreamMonitorOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    const generation = ++this.generation;
    const tick = async () => {
      await this.probe();
      if (!this.running || generation !== this.generation) return;
      // Look again sooner while down, so a recovered upstream is back in service quickly.
      const next = this.up === false ? Math.min(this.opts.intervalMs, 1_000) : this.opts.intervalMs;
      this.timer = setTimeout(tick, next);
    };
    void tick();
  }

  stop(): void {
    this.running = false;
    this.generation++;
    clearTimeout(this.timer);
  }

  async probe(): Promise<void> {
    const health = await this.opts.client.health().catch((err: Error) => ({ error: err.message }));
    if ("error" in health) {
      if (!this.busy) this.markDown(health.error);
      return;
    }
    if (!health.ok && !this.busy) return this.markDown("health check reported the server unhealthy");
    const cameUp = this.up !== true;
    if (cameUp) this.opts.logger.info("upstream is up");
    this.up = true;
    // A restarted server may serve another model, so the list is read again each time it comes up.
    if (cameUp) void this.readModels();
    if (health.modelLoaded !== null) this.modelLoaded = health.modelLoaded;
    await this.save({ up: true, model_loaded: this.modelLoaded, last_error: null });
  }

  /** For `GET /v1/models` on the api; a server without the endpoint simply lists nothing. */
  private async readModels(): Promise<void> {
    try {
      const models = modelIds(await this.opts.client.models());
      if (models.length > 0) await this.save({ models });
    } catch (err) {
      this.opts.logger.debug({ err }, "could not read the upstream's models");
    }
  }

  markDown(reason: string): void {
    if (this.up !== false)
      this.opts.logger.warn({ reason }, "upstream is down: no jobs go to it until it answers");
    this.up = false;
    void this.save({ up: false, last_error: reason });
  }

  setModelLoaded(loaded: boolean): void {
    this.modelLoaded = loaded;
    void this.save({ model_loaded: loaded });
  }

  private async save(patch: Parameters<typeof updateUpstreamState>[3]): Promise<void> {
    await updateUpstreamState(this.opts.redis, this.opts.prefix, this.opts.name, {
      ...patch,
      checked_at: new Date().toISOString(),
    }).catch(reported(this.opts.logger, "upstream_state_write"));
  }
}
