import {
  type JobKind,
  type LoadedPipeline,
  type Logger,
  reported,
  type UpstreamCapabilities,
  type UpstreamConfig,
  type UpstreamModes,
  updateUpstreamState,
} from "@zimage/core";
import type { UpstreamHealth, ZImageClient } from "@zimage/zimage-client";
import type { Redis } from "ioredis";
import { applyPins } from "./upstream-capabilities";

export interface UpstreamMonitorOptions {
  name: string;
  client: ZImageClient;
  redis: Redis;
  prefix: string;
  intervalMs: number;
  logger: Logger;
  /** The operator's pins (ZIMAGE_UPSTREAMS); discovery fills in what is `auto`. */
  pin?: UpstreamConfig["pin"];
}

/**
 * Periodic `/health` probe of one upstream, run by the dispatcher holding its lease. An unreachable
 * upstream is marked down and gets no jobs until it answers again (jobs wait, they do not fail).
 * Each time it comes up, what it offers is discovered again (a restarted server may be another
 * build): its routes, models and health shape, hence how each job kind runs on it. Which pipeline
 * is loaded comes from the same probe, so the idle unloader and the scheduling rules see what the
 * server itself reports.
 */
export class UpstreamMonitor {
  up: boolean | null = null;
  /** Any pipeline in VRAM (null: the server does not say). */
  modelLoaded: boolean | null = null;
  loadedPipeline: LoadedPipeline | null = null;
  /** How each job kind runs here; null until discovered. */
  modes: UpstreamModes | null = null;
  capabilities: UpstreamCapabilities | null = null;
  /** Set while this dispatcher has a request in flight: a slow /health then is not an outage. */
  busy = false;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** Bumped by every start and stop, so a probe still in flight from an older start ends its chain. */
  private generation = 0;
  private discovering: Promise<void> | null = null;
  /** Set when the upstream goes down: what comes back may be another build, so it is not in service until discovered again. */
  private needsDiscovery = true;
  /** Bumped by every change of model state this process makes, so a slower probe's older read is dropped. */
  private modelStateVersion = 0;

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
    const version = this.modelStateVersion;
    const health = await this.opts.client.health().catch((err: Error) => ({ error: err.message }));
    if ("error" in health) {
      if (!this.busy) this.markDown(health.error);
      return;
    }
    if (!health.ok && !this.busy) return this.markDown("health check reported the server unhealthy");
    const cameUp = this.up !== true;
    if (cameUp) this.opts.logger.info("upstream is up");
    this.up = true;
    // Not in service before its capabilities are known: the dispatcher fetches nothing until then.
    if (cameUp || this.needsDiscovery) await this.discover();
    // A job may have loaded or evicted a pipeline while this probe was out: its read is older.
    if (version === this.modelStateVersion) this.readPipelines(health);
    await this.save({
      up: true,
      model_loaded: this.modelLoaded,
      loaded_pipeline: this.loadedPipeline,
      last_error: null,
    });
  }

  /** Is the pipeline for `kind` loaded? null when the server does not say. */
  pipelineLoaded(kind: JobKind): boolean | null {
    const p = this.loadedPipeline;
    if (p === null) return null;
    return p === "all" || p === kind;
  }

  /** Reads one `/health` answer's model state into the monitor (published by the next save). */
  readPipelines(health: UpstreamHealth): void {
    if (health.modelLoaded !== null) this.modelLoaded = health.modelLoaded;
    // Per-kind flags in every shape: a single model's flag stands for both kinds, so it reads `all`/`none`.
    const { generate, edit } = health.pipelines;
    if (generate !== null && edit !== null)
      this.loadedPipeline = generate && edit ? "all" : generate ? "generate" : edit ? "edit" : "none";
  }

  /** A request of `kind` just succeeded: its pipeline is loaded now (on a two-pipeline server, alone). */
  pipelineUsed(kind: JobKind): void {
    this.modelStateVersion++;
    const single = this.capabilities?.health_shape !== "pipelines";
    this.modelLoaded = true;
    this.loadedPipeline = single ? "all" : kind;
    void this.save({ model_loaded: true, loaded_pipeline: this.loadedPipeline });
  }

  /** The upstream unloaded, restarted or failed a load: nothing is known to be in VRAM. */
  setUnloaded(): void {
    this.modelStateVersion++;
    this.modelLoaded = false;
    this.loadedPipeline = "none";
    void this.save({ model_loaded: false, loaded_pipeline: "none" });
  }

  private discover(): Promise<void> {
    this.discovering ??= this.runDiscovery().finally(() => {
      this.discovering = null;
    });
    return this.discovering;
  }

  private async runDiscovery(): Promise<void> {
    try {
      const found = await this.opts.client.discover();
      const capabilities = applyPins(found, this.opts.pin, new Date());
      this.capabilities = capabilities;
      this.modes = { generate: capabilities.generate, edit: capabilities.edit };
      this.needsDiscovery = false;
      this.opts.logger.info(
        {
          generate: capabilities.generate,
          edit: capabilities.edit,
          source: capabilities.source,
          routesFrom: capabilities.routes_from,
          healthShape: capabilities.health_shape,
          models: capabilities.models.map((m) => m.id),
        },
        "upstream capabilities discovered",
      );
      await this.save({
        capabilities,
        models: capabilities.models.length > 0 ? capabilities.models.map((m) => m.id) : null,
      });
    } catch (err) {
      // Not in service until discovery succeeds: the next probe tries again.
      this.opts.logger.warn(
        { err: (err as Error).message },
        "could not discover the upstream's capabilities",
      );
    }
  }

  markDown(reason: string): void {
    if (this.up !== false)
      this.opts.logger.warn({ reason }, "upstream is down: no jobs go to it until it answers");
    this.up = false;
    // Whatever answers next is discovered afresh before any job goes to it (a server replaced by
    // another build at the same address must not get requests shaped for the old one).
    this.needsDiscovery = true;
    this.modes = null;
    void this.save({ up: false, last_error: reason });
  }

  private async save(patch: Parameters<typeof updateUpstreamState>[3]): Promise<void> {
    await updateUpstreamState(this.opts.redis, this.opts.prefix, this.opts.name, {
      ...patch,
      checked_at: new Date().toISOString(),
    }).catch(reported(this.opts.logger, "upstream_state_write"));
  }
}
