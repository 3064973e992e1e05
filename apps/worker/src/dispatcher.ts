import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import {
  CANCELED_WHILE_RUNNING,
  cancelRequestedAt,
  countUpstreamEvent,
  type DeliveryData,
  decodeFailure,
  encodeFailure,
  isQueueIdle,
  type JobData,
  type JobResult,
  type Logger,
  markDispatched,
  markServed,
  notifyWebhook,
  publishJobEvent,
  QUEUES,
  readUpstreamStates,
  registerUpstream,
  removePending,
  resetFairShare,
  servedSlot,
  UpstreamLease,
  updateUpstreamState,
} from "@zimage/core";
import type { ObjectStore } from "@zimage/storage";
import type { ZImageClient } from "@zimage/zimage-client";
import { type Job, type Queue, UnrecoverableError, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { IdleUnloader } from "./idle-unloader";
import { keepLock } from "./job-lock";
import type { WorkerMetrics } from "./metrics";
import {
  type DispatchTimings,
  type ProcessDeps,
  requestImages,
  saveImages,
  type UpstreamAnswer,
} from "./process-job";
import { UpstreamMonitor } from "./upstream-monitor";

export interface DispatcherOptions {
  upstream: { name: string; url: string };
  client: ZImageClient;
  store: ObjectStore;
  /** Shared connection for commands; BullMQ opens its own blocking connection from it. */
  connection: Redis;
  prefix: string;
  logger: Logger;
  timings: DispatchTimings;
  healthIntervalMs: number;
  idleUnloadMs: number;
  leaseTtlMs: number;
  /**
   * Leases held by this process's dispatchers, shared between them, and LEASE_SPREAD_SECONDS: a
   * process already holding k leases waits until a free one has stayed free for k × spread before
   * taking it, so the upstreams spread over the worker processes instead of all going to the first
   * one up (one event loop for every GPU). Unset or 0: take any free lease at once.
   */
  leaseShare?: { held: number; spreadMs: number };
  lockDurationMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
  metrics: WorkerMetrics;
  webhooks: Queue<DeliveryData>;
  webhookSchedule: number[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How long after its own request succeeded a dispatcher may skip the pre-flight checks. */
const GPU_IDLE_TRUST_MS = 2_000;

/**
 * The one dispatcher of an upstream. Every worker process runs one per configured upstream, but only
 * the holder of the upstream's lease fetches jobs; the others stand by and take over when the
 * holder's lease lapses. Jobs are fetched one at a time (BullMQ manual mode), which lets the
 * dispatcher decide before each fetch: is the upstream up, should a warm upstream go first, is it
 * time to unload the model.
 */
export class Dispatcher {
  private readonly worker: Worker<JobData, JobResult>;
  private readonly lease: UpstreamLease;
  private readonly monitor: UpstreamMonitor;
  private readonly unloader: IdleUnloader;
  private readonly log: Logger;
  private stopping = false;
  private holding = false;
  private loop: Promise<void> | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private inFlight: { job: Job<JobData, JobResult>; abort: AbortController } | null = null;
  /** Jobs whose GPU work is done and whose results are being stored and completed. */
  private readonly finishing = new Set<Promise<void>>();
  /**
   * When this dispatcher's own request last succeeded, while it held the lease (see
   * ProcessDeps.gpuKnownIdle); cleared by any failure and by lease changes. Trusted only briefly: an
   * upstream restarted between two jobs would be cold again.
   */
  private gpuIdleSince: number | null = null;
  /** When this dispatcher, standing by, first saw its upstream's lease free. */
  private freeSince: number | null = null;

  constructor(private readonly opts: DispatcherOptions) {
    const owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.log = opts.logger.child({ upstream: opts.upstream.name });
    this.lease = new UpstreamLease(opts.connection, opts.prefix, opts.upstream.name, owner, opts.leaseTtlMs);
    this.worker = new Worker<JobData, JobResult>(QUEUES.generate, null, {
      connection: opts.connection,
      prefix: opts.prefix,
      autorun: false,
      concurrency: 1,
      // Short blocking fetches keep the loop responsive to shutdown, outages and idle unloads.
      drainDelay: 1,
      lockDuration: opts.lockDurationMs,
      stalledInterval: opts.stalledIntervalMs,
      // A job whose dispatcher dies mid-request goes back to the queue; one that kills its dispatcher
      // repeatedly is failed after this many stalls rather than retried forever.
      maxStalledCount: opts.maxStalledCount,
      name: `dispatcher:${opts.upstream.name}`,
    });
    this.worker.on("error", (err) => this.log.error({ err: err.message }, "dispatcher queue error"));
    const common = {
      name: opts.upstream.name,
      client: opts.client,
      redis: opts.connection,
      prefix: opts.prefix,
      logger: this.log,
    };
    this.monitor = new UpstreamMonitor({ ...common, intervalMs: opts.healthIntervalMs });
    this.unloader = new IdleUnloader({
      ...common,
      idleMs: opts.idleUnloadMs,
      monitor: this.monitor,
      metrics: opts.metrics,
    });
    opts.metrics.addUpstream({
      upstreamName: opts.upstream.name,
      gaugeValues: () =>
        this.holding
          ? {
              up: this.monitor.up === true,
              busy: this.monitor.busy,
              modelLoaded: this.monitor.modelLoaded === true,
              inFlight: this.monitor.busy ? 1 : 0,
            }
          : null,
    });
  }

  get upstreamName(): string {
    return this.opts.upstream.name;
  }

  /** For the worker's /ready: does this process hold the upstream, and did it answer? */
  readiness(): { name: string; holding: boolean; up: boolean | null } {
    return { name: this.opts.upstream.name, holding: this.holding, up: this.monitor.up };
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
      if (this.inFlight) {
        this.log.warn(
          { jobId: this.inFlight.job.id, graceMs },
          "shutdown grace period over: returning the job to the queue",
        );
        this.inFlight.abort.abort(new Error("worker shutting down"));
      }
    }, graceMs);
    await this.loop;
    clearTimeout(timer);
    await Promise.all([...this.finishing]);
    await this.releaseLease();
    await this.worker.close();
  }

  private async run(): Promise<void> {
    await registerUpstream(
      this.opts.connection,
      this.opts.prefix,
      this.opts.upstream.name,
      this.opts.upstream.url,
    ).catch(() => {});
    const token = randomUUID();
    while (!this.stopping) {
      try {
        if (!(await this.holdLease())) {
          await sleep(Math.min(1_000, this.opts.leaseTtlMs / 3));
          continue;
        }
        if (this.monitor.up !== true) {
          await sleep(Math.min(250, this.opts.healthIntervalMs));
          continue;
        }
        const mode = await this.fetchMode();
        if (mode === "hold") {
          await sleep(100);
          continue;
        }
        const job = await this.worker.getNextJob(token, { block: mode === "block" });
        if (!job) {
          await this.restartFairClockWhenIdle();
          await this.unloader.maybeUnload();
          if (mode === "poll") await sleep(100);
          continue;
        }
        if (this.stopping) {
          await job.moveToWait(token);
          break;
        }
        await this.runJob(job, token);
      } catch (err) {
        // Redis hiccups land here; BullMQ reconnects on its own.
        this.log.warn({ err: (err as Error).message }, "dispatcher loop error; retrying");
        await sleep(500);
      }
    }
  }

  /**
   * Dispatches one job and returns as soon as the GPU has answered, so the loop can send the next
   * job at once; storing this job's images and completing it carry on in the background
   * (`finishing`). A failure is handled before returning, as it may put the job back on the queue.
   */
  private async runJob(job: Job<JobData, JobResult>, token: string): Promise<void> {
    const abort = new AbortController();
    this.inFlight = { job, abort };
    this.monitor.busy = true;
    const lock = keepLock(job, token, this.opts.lockDurationMs, () =>
      this.log.error({ jobId: job.id }, "lost the job's lock; another dispatcher may run it"),
    );
    const labels = { kind: job.data.kind, upstream: this.opts.upstream.name };
    if (job.attemptsMade === 0) {
      this.opts.metrics.queueWait.observe({ kind: job.data.kind }, (Date.now() - job.timestamp) / 1000);
    }
    // The bookkeeping of a dispatch is independent, so it goes to Redis at once rather than in turn:
    // every round trip here is time the GPU sits idle.
    const [, , , canceledBefore] = await Promise.all([
      markServed(this.opts.connection, this.opts.prefix, job.opts.priority ?? 1).catch(() => {}),
      updateUpstreamState(this.opts.connection, this.opts.prefix, this.opts.upstream.name, {
        busy: true,
        current_job: job.id ?? null,
      }).catch(() => {}),
      markDispatched(this.opts.connection, this.opts.prefix, job.id!)
        .catch(() => {})
        .then(() => this.publish(job, "dispatched")),
      this.canceled(job),
      this.notify(job, "running"),
    ]);
    const gpuKnownIdle = this.gpuIdleSince !== null && Date.now() - this.gpuIdleSince < GPU_IDLE_TRUST_MS;
    this.gpuIdleSince = null;
    const deps = { ...this.processDeps(), gpuKnownIdle };
    let answer: UpstreamAnswer;
    try {
      if (canceledBefore) {
        await this.discardCanceled(job, token);
        return await this.settle(job, lock);
      }
      answer = await requestImages(job, deps, abort.signal);
    } catch (err) {
      await this.failAttempt(job, token, err, abort.signal.aborted, labels);
      return await this.settle(job, lock);
    }
    // The GPU answered this dispatcher's request, so it is idle now (see ProcessDeps.gpuKnownIdle).
    if (this.holding) this.gpuIdleSince = Date.now();
    this.inFlight = null;
    this.monitor.busy = false;
    const finishing: Promise<void> = this.finish(job, token, answer, deps, labels)
      .catch((err) => this.log.error({ err, jobId: job.id }, "finishing a job failed"))
      .then(() => this.settle(job, lock))
      .finally(() => this.finishing.delete(finishing));
    this.finishing.add(finishing);
  }

  /** Stores the images and completes the job, or fails it; runs while the GPU already has the next job. */
  private async finish(
    job: Job<JobData, JobResult>,
    token: string,
    answer: UpstreamAnswer,
    deps: ProcessDeps,
    labels: { kind: string; upstream: string },
  ): Promise<void> {
    let result: JobResult;
    try {
      result = await saveImages(job, answer, deps);
    } catch (err) {
      return await this.failAttempt(job, token, err, false, labels);
    }
    // The owner canceled while the GPU worked: the work cannot be interrupted, but its result is
    // not delivered.
    if (await this.canceled(job)) return await this.discardCanceled(job, token);
    await job.moveToCompleted(result, token, false);
    this.opts.metrics.jobsCompleted.inc(labels);
    this.opts.metrics.jobDuration.observe({ kind: job.data.kind }, (Date.now() - job.timestamp) / 1000);
    await Promise.all([
      this.jobEnded(job),
      this.notify(job, "succeeded"),
      countUpstreamEvent(this.opts.connection, this.opts.prefix, this.opts.upstream.name, "jobs_done").catch(
        () => {},
      ),
    ]);
  }

  private async failAttempt(
    job: Job<JobData, JobResult>,
    token: string,
    err: unknown,
    aborted: boolean,
    labels: { kind: string; upstream: string },
  ): Promise<void> {
    if (aborted) {
      await job.moveToWait(token);
      return;
    }
    await job.moveToFailed(err as Error, token, false);
    const { code } = decodeFailure((err as Error).message);
    if ((await job.getState()) === "failed") {
      await this.jobEnded(job);
      this.opts.metrics.jobsFailed.inc({ ...labels, reason: code });
      await this.notify(job, "failed");
    } else {
      this.opts.metrics.upstreamRetries.inc({ upstream: this.opts.upstream.name, reason: code });
    }
  }

  /** The job is out of this dispatcher's hands: its lock stops, and its view changed. */
  private async settle(job: Job<JobData, JobResult>, lock: { stop(): void }): Promise<void> {
    lock.stop();
    if (this.inFlight?.job === job) {
      this.inFlight = null;
      this.monitor.busy = false;
    }
    this.unloader.touch();
    await Promise.all([
      // Another job may already be on the GPU; only an idle upstream is marked so.
      this.inFlight === null
        ? updateUpstreamState(this.opts.connection, this.opts.prefix, this.opts.upstream.name, {
            busy: false,
            current_job: null,
            last_job_at: new Date().toISOString(),
          }).catch(() => {})
        : null,
      this.publish(job, "changed"),
    ]);
  }

  private async restartFairClockWhenIdle(): Promise<void> {
    if ((await servedSlot(this.opts.connection, this.opts.prefix)) === 0) return;
    if (await isQueueIdle(this.opts.connection, this.worker.keys))
      await resetFairShare(this.opts.connection, this.opts.prefix);
  }

  private async notify(job: Job<JobData, JobResult>, event: "running" | "succeeded" | "failed" | "canceled") {
    await notifyWebhook(this.opts.webhooks, job.id!, job.data, event, this.opts.webhookSchedule).catch(
      (err: Error) =>
        this.log.warn({ jobId: job.id, err: err.message }, "could not queue a webhook delivery"),
    );
  }

  private async publish(job: Job<JobData, JobResult>, type: "changed" | "dispatched"): Promise<void> {
    await publishJobEvent(this.opts.connection, this.opts.prefix, {
      id: job.id!,
      type,
      owner: job.data.owner,
    }).catch(() => {});
  }

  private async canceled(job: Job<JobData, JobResult>): Promise<boolean> {
    return (
      (await cancelRequestedAt(this.opts.connection, this.opts.prefix, job.id!).catch(() => null)) !== null
    );
  }

  private async discardCanceled(job: Job<JobData, JobResult>, token: string): Promise<void> {
    await this.opts.store.deletePrefix(`results/${job.id}/`).catch(() => 0);
    await job.moveToFailed(new UnrecoverableError(encodeFailure(CANCELED_WHILE_RUNNING)), token, false);
    await this.jobEnded(job);
    this.log.info({ jobId: job.id }, "job canceled; result discarded");
    await this.notify(job, "canceled");
  }

  /** The job will not run again: it no longer counts against its owner's pending limit. */
  private async jobEnded(job: Job<JobData, JobResult>): Promise<void> {
    await removePending(this.opts.connection, this.opts.prefix, job.data.owner, job.id!).catch(() => {});
  }

  private processDeps() {
    return {
      upstream: this.opts.upstream.name,
      client: this.opts.client,
      store: this.opts.store,
      redis: this.opts.connection,
      prefix: this.opts.prefix,
      logger: this.opts.logger,
      monitor: this.monitor,
      timings: this.opts.timings,
      metrics: this.opts.metrics,
    };
  }

  /** Takes or keeps the lease; on taking it, starts the health monitor and BullMQ's stalled-job checks. */
  private async holdLease(): Promise<boolean> {
    if (this.holding) return true;
    if (!(await this.mayTakeLease())) return false;
    // mayTakeLease counted this lease as held (synchronously, so sibling dispatchers see it).
    if (!(await this.lease.acquire())) {
      if (this.opts.leaseShare) this.opts.leaseShare.held--;
      return false;
    }
    this.holding = true;
    this.freeSince = null;
    this.gpuIdleSince = null;
    this.log.info({ owner: this.lease.owner }, "dispatcher holds the upstream's lease");
    await updateUpstreamState(this.opts.connection, this.opts.prefix, this.opts.upstream.name, {
      owner: this.lease.owner,
    });
    this.unloader.touch();
    this.monitor.start();
    await this.monitor.probe();
    void this.worker.startStalledCheckTimer();
    this.renewTimer = setInterval(() => {
      this.lease.renew().then(
        (ok) => {
          if (!ok && this.holding) {
            // Another process owns the upstream now; stop fetching. A request in flight finishes:
            // the new holder's pre-flight check waits while the GPU says it is generating.
            this.log.error("lost the upstream's lease; standing by");
            this.holding = false;
            this.gpuIdleSince = null;
            if (this.opts.leaseShare) this.opts.leaseShare.held--;
            this.monitor.stop();
            clearInterval(this.renewTimer);
          }
        },
        () => {},
      );
    }, this.opts.leaseTtlMs / 3);
    return true;
  }

  /**
   * See DispatcherOptions.leaseShare. A true answer counts the lease as held before any await, so
   * dispatchers of one process starting together do not all see zero.
   */
  private async mayTakeLease(): Promise<boolean> {
    const share = this.opts.leaseShare;
    if (!share) return true;
    if (share.held > 0 && share.spreadMs > 0) {
      if ((await this.lease.holder()) !== null) {
        this.freeSince = null;
        return false;
      }
      this.freeSince ??= Date.now();
      if (Date.now() - this.freeSince < share.held * share.spreadMs) return false;
    }
    share.held++;
    return true;
  }

  private async releaseLease(): Promise<void> {
    clearInterval(this.renewTimer);
    this.monitor.stop();
    if (this.holding) {
      this.holding = false;
      if (this.opts.leaseShare) this.opts.leaseShare.held--;
      await this.lease.release().catch(() => {});
      await updateUpstreamState(this.opts.connection, this.opts.prefix, this.opts.upstream.name, {
        owner: null,
      }).catch(() => {});
    }
  }

  /**
   * When more than one upstream is free, the one whose model is loaded should take the next job: a
   * cold one would spend minutes loading. A cold dispatcher with peers therefore never parks in a
   * blocking fetch (it could win a job a warm peer should get); it polls, and holds back while a
   * warm, idle, healthy peer exists. As soon as that peer is busy, it fetches again.
   */
  private async fetchMode(): Promise<"block" | "poll" | "hold"> {
    if (this.monitor.modelLoaded !== false) return "block";
    const states = await readUpstreamStates(this.opts.connection, this.opts.prefix);
    const peers = states.filter((s) => s.name !== this.opts.upstream.name);
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
}
