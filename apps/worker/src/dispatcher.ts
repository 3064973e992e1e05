import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type DeliveryData,
  displayUrl,
  type JobData,
  type JobResult,
  type Logger,
  QUEUES,
  readUpstreamStates,
  registerUpstream,
  reported,
  reportInternalError,
  type UpstreamConfig,
  UpstreamLease,
  updateUpstreamState,
} from "@zimage/core";
import type { ObjectStore } from "@zimage/storage";
import type { ZImageClient } from "@zimage/zimage-client";
import { type Queue, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { CircuitBreaker } from "./circuit-breaker";
import { FetchPolicy } from "./fetch-policy";
import { DEFAULT_USAGE_RETENTION_SECONDS, GpuAccounting } from "./gpu-accounting";
import { dispatchLifetimeMs, gpuBoundMs } from "./gpu-meter";
import { IdleUnloader } from "./idle-unloader";
import { JobEndings } from "./job-endings";
import { JobLifecycle } from "./job-lifecycle";
import { LeaseHolder, LeaseLostError } from "./lease-holder";
import type { WorkerMetrics } from "./metrics";
import type { DispatchTimings } from "./process-job";
import { UpstreamMonitor } from "./upstream-monitor";

export interface DispatcherOptions {
  upstream: Pick<UpstreamConfig, "name" | "url"> & Partial<Pick<UpstreamConfig, "pin" | "params">>;
  client: ZImageClient;
  store: ObjectStore;
  /** Shared connection for commands; BullMQ opens its own blocking connection from it. */
  connection: Redis;
  prefix: string;
  logger: Logger;
  timings: DispatchTimings;
  healthIntervalMs: number;
  /** BREAKER_FAILURES and BREAKER_COOLDOWN_SECONDS (see CircuitBreaker). */
  breaker: { failures: number; cooldownMs: number };
  idleUnloadMs: number;
  leaseTtlMs: number;
  /** See LeaseHolderOptions.share (LEASE_SPREAD_SECONDS). */
  leaseShare?: { held: number; spreadMs: number };
  lockDurationMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
  /** RESULT_TTL: how long a job's outcome decision and end claim are kept. */
  retentionSeconds: number;
  /** USAGE_RETENTION_DAYS in seconds (default 400 days): how long GPU usage per key and day is kept. */
  usageRetentionSeconds?: number;
  metrics: WorkerMetrics;
  webhooks: Queue<DeliveryData>;
  webhookSchedule: number[];
  /** PIPELINE_WINDOW_JOBS and PIPELINE_WINDOW_SECONDS (see FetchPolicyOptions.pipelineWindow). */
  pipelineWindow?: { jobs: number; ms: number };
}

/**
 * The one dispatcher of an upstream. Every worker process runs one per configured upstream, but only
 * the holder of the upstream's lease fetches jobs; the others stand by and take over when the
 * holder's lease lapses. It wires three units: the lease holder (may this process use the GPU now?),
 * the fetch policy (should it take the queue's next job?) and the job lifecycle (run and settle one
 * job). Jobs are fetched one at a time (BullMQ manual mode), so each fetch is decided afresh.
 */
export class Dispatcher {
  private readonly worker: Worker<JobData, JobResult>;
  private readonly lease: LeaseHolder;
  private readonly monitor: UpstreamMonitor;
  private readonly unloader: IdleUnloader;
  private readonly policy: FetchPolicy;
  private readonly lifecycle: JobLifecycle;
  private readonly breaker: CircuitBreaker;
  private readonly log: Logger;
  private stopping = false;
  private loop: Promise<void> | undefined;

  constructor(private readonly opts: DispatcherOptions) {
    const owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    const name = opts.upstream.name;
    this.log = opts.logger.child({ upstream: name });
    this.worker = new Worker<JobData, JobResult>(QUEUES.generate, null, {
      connection: opts.connection,
      prefix: opts.prefix,
      autorun: false,
      concurrency: 1,
      // Short blocking fetches keep the loop responsive to shutdown, outages, lost leases and unloads.
      drainDelay: 1,
      lockDuration: opts.lockDurationMs,
      stalledInterval: opts.stalledIntervalMs,
      // A job whose dispatcher dies mid-request goes back to the queue; one that kills its dispatcher
      // repeatedly is failed (by JobLifecycle, `job_stalled`) after this many stalls.
      maxStalledCount: opts.maxStalledCount,
      name: `dispatcher:${name}`,
    });
    this.worker.on("error", (err) => reportInternalError(this.log, "dispatcher_queue", err));
    const common = {
      name,
      client: opts.client,
      redis: opts.connection,
      prefix: opts.prefix,
      logger: this.log,
    };
    this.monitor = new UpstreamMonitor({
      ...common,
      intervalMs: opts.healthIntervalMs,
      ...(opts.upstream.pin ? { pin: opts.upstream.pin } : {}),
    });
    this.breaker = new CircuitBreaker({
      ...opts.breaker,
      onChange: (state, reason) => {
        const log = state.state === "open" ? this.log.warn.bind(this.log) : this.log.info.bind(this.log);
        log(
          { breaker: state.state, reason, retryAt: state.retry_at },
          state.state === "open"
            ? "circuit breaker open: no jobs go to this upstream until the cool-down ends"
            : `circuit breaker ${state.state.replace("_", "-")}`,
        );
        // A process that lost the lease must not write over its successor's state.
        if (this.lease.holding)
          void updateUpstreamState(opts.connection, opts.prefix, name, { breaker: state }).catch(
            reported(this.log, "upstream_state_write"),
          );
      },
    });
    this.unloader = new IdleUnloader({
      ...common,
      idleMs: opts.idleUnloadMs,
      monitor: this.monitor,
      metrics: opts.metrics,
      mayUnload: () => this.lease.valid && !this.lifecycle.busy,
    });
    this.lease = new LeaseHolder({
      lease: new UpstreamLease(opts.connection, opts.prefix, name, owner, opts.leaseTtlMs),
      ttlMs: opts.leaseTtlMs,
      logger: this.log,
      share: opts.leaseShare,
      onAcquired: (term) => this.onLeaseAcquired(term),
      onLost: () => this.onLeaseLost(),
    });
    this.policy = new FetchPolicy({
      upstream: name,
      redis: opts.connection,
      prefix: opts.prefix,
      monitor: this.monitor,
      healthIntervalMs: opts.healthIntervalMs,
      pipelineWindow: opts.pipelineWindow,
    });
    const usage = new GpuAccounting({
      redis: opts.connection,
      prefix: opts.prefix,
      upstream: name,
      metrics: opts.metrics,
      logger: this.log,
      retentionSeconds: opts.usageRetentionSeconds ?? DEFAULT_USAGE_RETENTION_SECONDS,
      boundMs: gpuBoundMs(opts.timings),
      lifetimeMs: dispatchLifetimeMs(opts.timings),
    });
    const endings = new JobEndings({
      usage,
      redis: opts.connection,
      prefix: opts.prefix,
      upstream: name,
      metrics: opts.metrics,
      webhooks: opts.webhooks,
      webhookSchedule: opts.webhookSchedule,
      retentionSeconds: opts.retentionSeconds,
      logger: this.log,
    });
    this.lifecycle = new JobLifecycle({
      upstream: name,
      client: opts.client,
      store: opts.store,
      redis: opts.connection,
      prefix: opts.prefix,
      logger: this.log,
      timings: opts.timings,
      lockDurationMs: opts.lockDurationMs,
      retentionSeconds: opts.retentionSeconds,
      metrics: opts.metrics,
      monitor: this.monitor,
      unloader: this.unloader,
      lease: this.lease,
      endings,
      usage,
      params: opts.upstream.params,
      onAttemptEnd: (failureCode) =>
        failureCode === null ? this.breaker.success() : this.breaker.failureOf(failureCode),
    });
    opts.metrics.addUpstream({
      upstreamName: name,
      gaugeValues: () =>
        this.lease.holding
          ? {
              up: this.monitor.up === true,
              busy: this.monitor.busy,
              modelLoaded: this.monitor.modelLoaded === true,
              inFlight: this.monitor.busy ? 1 : 0,
              pipelines: {
                generate: this.monitor.pipelineLoaded("generate") === true,
                edit: this.monitor.pipelineLoaded("edit") === true,
              },
              breakerOpen: this.breaker.current.state === "open",
            }
          : null,
    });
  }

  get upstreamName(): string {
    return this.opts.upstream.name;
  }

  /** For the worker's /ready: does this process hold the upstream, and did it answer? */
  readiness(): { name: string; holding: boolean; up: boolean | null } {
    return { name: this.opts.upstream.name, holding: this.lease.valid, up: this.monitor.up };
  }

  get owner(): string {
    return this.lease.owner;
  }

  start(): void {
    this.loop = this.run().catch((err) => this.log.fatal({ err }, "dispatcher loop crashed"));
  }

  /**
   * Stops fetching, lets the job in flight finish for up to `graceMs`, then aborts it and puts it back
   * on the queue so another dispatcher runs it. Nothing is lost either way.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    const timer = setTimeout(() => {
      const jobId = this.lifecycle.abortInFlight("worker shutting down");
      if (jobId)
        this.log.warn({ jobId, graceMs }, "shutdown grace period over: returning the job to the queue");
    }, graceMs);
    await this.loop;
    clearTimeout(timer);
    await this.lifecycle.drain();
    const held = this.lease.holding;
    await this.lease.release();
    // Awaited, so the upstream no longer names this process before its connection closes.
    if (held)
      await updateUpstreamState(this.opts.connection, this.opts.prefix, this.opts.upstream.name, {
        owner: null,
      }).catch(reported(this.log, "upstream_state_write"));
    await this.worker.close();
  }

  private async run(): Promise<void> {
    const { name, url } = this.opts.upstream;
    // Shown to every user of `GET /v1/upstreams`: never the URL's credentials.
    await registerUpstream(this.opts.connection, this.opts.prefix, name, displayUrl(url)).catch(
      reported(this.log, "upstream_register"),
    );
    // Every process looks for stalled jobs, holder or not (BullMQ throttles the check to one per
    // STALLED_INTERVAL for the whole queue): when the holder dies, its job is recovered within
    // LOCK_DURATION + STALLED_INTERVAL instead of waiting for a standby to take the lease first.
    void this.worker.startStalledCheckTimer();
    // A lock token per fetch, as BullMQ's own Worker does: a run of a job that lost its lock (and
    // was handed on) can then never finish the job's later run, even in this same process.
    const base = randomUUID();
    let fetches = 0;
    while (!this.stopping) {
      try {
        await this.step(`${base}:${fetches++}`);
      } catch (err) {
        if (err instanceof LeaseLostError) continue;
        // Redis hiccups land here; BullMQ reconnects on its own.
        reportInternalError(this.log, "dispatcher_loop", err);
        await sleep(500);
      }
    }
  }

  /** One turn of the loop: hold the lease, decide, fetch at most one job, run it. */
  private async step(token: string): Promise<void> {
    if (!(await this.lease.hold())) {
      await sleep(Math.min(1_000, this.opts.leaseTtlMs / 3));
      return;
    }
    // Down, or up but not yet discovered: nothing is known about how to run a job there.
    if (this.monitor.up !== true || this.monitor.modes === null) {
      await sleep(Math.min(250, this.opts.healthIntervalMs));
      return;
    }
    if (!this.breaker.allow()) {
      await sleep(Math.max(10, Math.min(250, this.breaker.waitMs())));
      return;
    }
    const mode = await this.policy.choose();
    if (mode === "hold") {
      await sleep(100);
      return;
    }
    this.lease.assertValid("fetching a job");
    const job = await this.worker.getNextJob(token, { block: mode === "block" });
    if (!job) {
      await this.policy.queueEmpty(this.worker.keys);
      if (this.lease.valid) await this.unloader.maybeUnload();
      if (mode === "poll") await sleep(100);
      return;
    }
    // Stopping, or a kind this upstream cannot run or should not load now (a race with another
    // dispatcher's choice): back to the queue, uncounted.
    if (this.stopping || !this.policy.accepts(job)) {
      await job.moveToWait(token);
      return;
    }
    // A fetch can outlast the lease (a pause, a partition): JobLifecycle checks again before sending
    // and gives the job back to the queue, uncounted, if the lease is gone.
    await this.lifecycle.run(job, token);
  }

  private async onLeaseAcquired(term: number): Promise<void> {
    this.lifecycle.forgetGpuIdle();
    const saved = (await readUpstreamStates(this.opts.connection, this.opts.prefix)).find(
      (s) => s.name === this.opts.upstream.name,
    );
    this.breaker.restore(saved?.breaker ?? null);
    await updateUpstreamState(this.opts.connection, this.opts.prefix, this.opts.upstream.name, {
      owner: this.lease.owner,
      lease_term: term,
      breaker: this.breaker.current,
      params: this.opts.upstream.params ?? null,
    });
    this.unloader.touch();
    this.monitor.start();
    await this.monitor.probe();
  }

  /** Nothing more goes to the GPU from here; a request already in flight finishes. */
  private onLeaseLost(): void {
    this.lifecycle.forgetGpuIdle();
    this.monitor.stop();
  }
}
