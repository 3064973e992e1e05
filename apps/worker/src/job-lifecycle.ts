import {
  CANCELED_WHILE_RUNNING,
  type CancelCode,
  DEADLINE_WHILE_QUEUED,
  DEADLINE_WHILE_RUNNING,
  decideJobOutcome,
  decodeFailure,
  encodeFailure,
  type JobData,
  type JobResult,
  markDispatched,
  markQueued,
  markServed,
  publishJobEvent,
  readCancel,
  reported,
  requestCancel,
  updateUpstreamState,
} from "@zimage/core";
import { type Job, UnrecoverableError } from "bullmq";
import { DeadlinePassedError } from "./deadline-passed-error";
import type { GpuAccounting } from "./gpu-accounting";
import { GpuMeter } from "./gpu-meter";
import type { IdleUnloader } from "./idle-unloader";
import type { JobEndings } from "./job-endings";
import { keepLock } from "./job-lock";
import { type LeaseHolder, LeaseLostError } from "./lease-holder";
import { type ProcessDeps, requestImages, saveImages, type UpstreamAnswer } from "./process-job";

/** What a job's request needs (ProcessDeps, less what each dispatch adds), and the units around it. */
export interface JobLifecycleOptions
  extends Pick<
    ProcessDeps,
    "upstream" | "client" | "store" | "redis" | "prefix" | "logger" | "timings" | "metrics" | "monitor"
  > {
  lockDurationMs: number;
  /** RESULT_TTL: how long a job's outcome decision is kept. */
  retentionSeconds: number;
  unloader: IdleUnloader;
  lease: LeaseHolder;
  endings: JobEndings;
  /** GPU budgets and usage per key (issue #19); absent: neither checked nor recorded. */
  usage?: GpuAccounting;
  /** The operator's defaults and bounds for this upstream. */
  params?: ProcessDeps["params"];
  /** Each attempt's end, for the circuit breaker: null on success, else the job error code. */
  onAttemptEnd?: (failureCode: string | null) => void;
}

type AnyJob = Job<JobData, JobResult>;
/** How long after its own request succeeded a dispatcher may skip the pre-flight checks. */
const GPU_IDLE_TRUST_MS = 2_000;
/**
 * How long a job waits in the queue when its key's other running jobs hold what is left of its GPU
 * budget (admitDispatch `wait`): about one poll of a running job, so it is taken again soon after
 * one of them ends, without a backlog of the key's jobs cycling through the dispatchers.
 */
const QUOTA_WAIT_MS = 1_000;

/**
 * One job from the moment its dispatcher fetched it to the moment it is out of its hands: the
 * pre-dispatch checks, the request to the GPU, and settling (complete, fail or retry, discard a
 * cancel, or give it back to the queue when the lease is lost). Every end goes through JobEndings.
 */
export class JobLifecycle {
  private inFlight: { job: AnyJob; abort: AbortController } | null = null;
  /** Jobs whose GPU work is done and whose results are being stored and completed. */
  private readonly finishing = new Set<Promise<void>>();
  /**
   * When this dispatcher's own request last succeeded, and in which lease term (see
   * ProcessDeps.gpuKnownIdle). Trusted only briefly and only in the same term: an upstream restarted
   * between two jobs would be cold again, and after a lost lease someone else may have used it.
   */
  private gpuIdle: { since: number; term: number } | null = null;

  constructor(private readonly opts: JobLifecycleOptions) {}

  get busy(): boolean {
    return this.inFlight !== null;
  }

  /** Aborts the request in flight (shutdown past its grace): the job goes back to the queue. */
  abortInFlight(reason: string): string | null {
    if (!this.inFlight) return null;
    this.inFlight.abort.abort(new Error(reason));
    return this.inFlight.job.id ?? null;
  }

  /** Waits for results still being stored. */
  async drain(): Promise<void> {
    await Promise.all([...this.finishing]);
  }

  forgetGpuIdle(): void {
    this.gpuIdle = null;
  }

  /**
   * Dispatches one job and returns as soon as the GPU has answered, so the loop can send the next
   * job at once; storing this job's images and completing it carry on in the background
   * (`finishing`). A failure is handled before returning, as it may put the job back on the queue.
   */
  async run(job: AnyJob, token: string): Promise<void> {
    const { opts } = this;
    const abort = new AbortController();
    this.inFlight = { job, abort };
    opts.monitor.busy = true;
    const lock = keepLock(job, token, opts.lockDurationMs, opts.logger, () =>
      opts.logger.error({ jobId: job.id }, "lost the job's lock; another dispatcher may run it"),
    );
    const log = opts.logger.child({ jobId: job.id });
    // This dispatch's GPU meter, once the job is on its way to the GPU: its time is recorded however
    // the dispatch ends (in the background, like storing the images: the GPU takes the next job).
    let admittedAt: GpuMeter | null = null;
    const recordGpu = () => {
      if (!admittedAt || !opts.usage) return;
      const recording = opts.usage
        .recordAttempt(job, admittedAt)
        .finally(() => this.finishing.delete(recording));
      this.finishing.add(recording);
      admittedAt = null;
    };
    try {
      // BullMQ's stalled checker marks a job that stalled too often for failure; in manual fetching
      // (ours) it is our task to fail it when it comes back.
      if (job.deferredFailure) {
        await this.failFinally(job, token, { code: "job_stalled", message: stalledMessage(job) });
        return await this.settle(job, lock);
      }
      // The lease is confirmed in Redis (no later term exists) before anything about the job is
      // announced; the cancel flag is read in the same round trip.
      const [confirmed, canceledBefore] = await Promise.all([opts.lease.confirm(), this.canceled(job)]);
      if (!confirmed) throw new LeaseLostError("a later lease term exists");
      // A job fetched after its deadline is never sent (issue #19): it ends as the sweep would end it.
      const cancel = canceledBefore ?? (await this.deadlineCancel(job));
      if (cancel) {
        await this.discardCanceled(job, token, cancel, false);
        return await this.settle(job, lock);
      }
      const admission = await this.admitted(job, token);
      if (admission === "ended") return await this.settle(job, lock);
      if (admission === "deferred") return this.putBack(job, lock);
      const meter = new GpuMeter();
      admittedAt = meter;
      if (job.attemptsMade === 0)
        opts.metrics.queueWait.observe({ kind: job.data.kind }, (Date.now() - job.timestamp) / 1000);
      await this.markRunning(job);
      const term = opts.lease.currentTerm;
      const gpuKnownIdle =
        this.gpuIdle !== null &&
        this.gpuIdle.term === term &&
        performance.now() - this.gpuIdle.since < GPU_IDLE_TRUST_MS;
      this.gpuIdle = null;
      const deps: ProcessDeps = {
        ...this.processDeps(),
        gpu: meter,
        gpuKnownIdle,
        leaseTerm: term,
        beforeSend: () => {
          opts.lease.assertValid("sending a job to the GPU");
          // The pre-flight (waiting for a busy upstream to be idle) may outlast the deadline.
          if (pastDeadline(job)) throw new DeadlinePassedError();
        },
      };
      const answer = await requestImages(job, deps, abort.signal).finally(recordGpu);
      // The GPU answered this dispatcher's request, so it is idle now (see ProcessDeps.gpuKnownIdle).
      if (term !== null && opts.lease.currentTerm === term) this.gpuIdle = { since: performance.now(), term };
      this.inFlight = null;
      opts.monitor.busy = false;
      const finishing: Promise<void> = this.finish(job, token, answer, deps)
        .catch(reported(log, "job_finish"))
        .then(() => this.settle(job, lock))
        .finally(() => this.finishing.delete(finishing));
      this.finishing.add(finishing);
    } catch (err) {
      // Admitted but the request failed or was never sent: its time (maybe none) is recorded all the same.
      recordGpu();
      // If even this fails (Redis gone), the job's lock stops with settle and BullMQ's stalled
      // checker hands the job on: it is never left locked and forgotten.
      await this.failAttempt(job, token, err, abort.signal.aborted).catch(
        reported(log, "job_attempt_settle"),
      );
      await this.settle(job, lock);
    }
  }

  /**
   * The GPU budget check at dispatch (admitDispatch): `ended` when the job failed `quota_exceeded`
   * (through JobEndings, never sent to a GPU), `deferred` when it went back to the queue for a moment
   * while the key's other running jobs hold what is left of its budget.
   */
  private async admitted(job: AnyJob, token: string): Promise<"admitted" | "ended" | "deferred"> {
    if (!this.opts.usage) return "admitted";
    const admission = await this.opts.usage.admit(job);
    if (admission.action === "admit") return "admitted";
    if (admission.action === "over") {
      this.opts.logger.info(
        { jobId: job.id, ...admission.quota },
        "job refused at dispatch: GPU budget spent",
      );
      const { code, message, details } = admission.error;
      await this.failFinally(job, token, { code, message, details });
      return "ended";
    }
    await job.moveToDelayed(Date.now() + QUOTA_WAIT_MS, token);
    return "deferred";
  }

  /**
   * A job deferred for its key's GPU budget went back to the queue untouched: nothing ran and nothing
   * changed for its owner, so unlike `settle` the idle timer, the upstream's state and the job's event
   * stream are left alone (a budgeted backlog would otherwise keep an idle GPU loaded and wake its
   * owner's streams every second).
   */
  private putBack(job: AnyJob, lock: { stop(): void }): void {
    lock.stop();
    if (this.inFlight?.job === job) {
      this.inFlight = null;
      this.opts.monitor.busy = false;
    }
  }

  /** Bookkeeping of a dispatch, sent at once rather than in turn: each round trip idles the GPU. */
  private async markRunning(job: AnyJob): Promise<void> {
    const { opts } = this;
    const log = opts.logger.child({ jobId: job.id });
    await Promise.all([
      markServed(opts.redis, opts.prefix, job.opts.priority ?? 1).catch(reported(log, "fair_share_mark")),
      updateUpstreamState(opts.redis, opts.prefix, opts.upstream, {
        busy: true,
        current_job: job.id ?? null,
      }).catch(reported(log, "upstream_state_write")),
      markDispatched(opts.redis, opts.prefix, job.id!)
        .catch(reported(log, "queued_since_clear"))
        .then(() => this.publish(job)),
      opts.endings.notifyRunning(job),
    ]);
  }

  /** Stores the images and completes the job, or fails it; runs while the GPU already has the next job. */
  private async finish(job: AnyJob, token: string, answer: UpstreamAnswer, deps: ProcessDeps): Promise<void> {
    let result: JobResult;
    try {
      result = await saveImages(job, answer, deps);
    } catch (err) {
      return await this.failAttempt(job, token, err, false);
    }
    // An attempt succeeded once its images are stored (an async result is fetched from the upstream).
    this.opts.onAttemptEnd?.(null);
    // The owner may have canceled while the GPU worked: the work could not be interrupted, and its
    // result is not delivered. The decision is atomic with the cancel (decideJobOutcome).
    const { redis, prefix, retentionSeconds } = this.opts;
    if (!(await decideJobOutcome(redis, prefix, job.id!, "succeeded", retentionSeconds)))
      return await this.discardCanceled(job, token);
    await job.moveToCompleted(result, token, false);
    await this.opts.endings.ended(job, "succeeded");
  }

  private async failAttempt(job: AnyJob, token: string, err: unknown, aborted: boolean): Promise<void> {
    const log = this.opts.logger.child({ jobId: job.id });
    if (err instanceof DeadlinePassedError) {
      // Thrown by the check before sending: the deadline passed before the GPU got the job.
      const cancel = await this.deadlineCancel(job);
      return await this.discardCanceled(job, token, cancel ?? undefined, false);
    }
    // Not the job's fault: it goes back to the queue without an attempt counted.
    if (aborted || err instanceof LeaseLostError) {
      if (err instanceof LeaseLostError)
        log.warn({ reason: err.message }, "lease lost before the job was sent: job back in the queue");
      await job.moveToWait(token);
      // It waits again: back in the oldest-queued-job gauge, with its submit time.
      await markQueued(this.opts.redis, this.opts.prefix, job.id!, job.timestamp).catch(
        reported(log, "queued_since_mark"),
      );
      return;
    }
    const failure = decodeFailure((err as Error).message);
    this.opts.onAttemptEnd?.(failure.code);
    const final = err instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (final) return await this.failFinally(job, token, failure, err as Error);
    await job.moveToFailed(err as Error, token, false);
    this.opts.metrics.upstreamRetries.inc({ upstream: this.opts.upstream, reason: failure.code });
  }

  private async failFinally(
    job: AnyJob,
    token: string,
    failure: ReturnType<typeof decodeFailure>,
    err: Error = new UnrecoverableError(encodeFailure(failure)),
  ): Promise<void> {
    const { redis, prefix, retentionSeconds } = this.opts;
    if (!(await decideJobOutcome(redis, prefix, job.id!, "failed", retentionSeconds)))
      return await this.discardCanceled(job, token);
    // Unrecoverable, so BullMQ fails it now whatever attempts remain (it was decided final above).
    await job.moveToFailed(
      err instanceof UnrecoverableError ? err : new UnrecoverableError(err.message),
      token,
      false,
    );
    await this.opts.endings.ended(job, "failed", failure.code);
  }

  /** The job is out of this dispatcher's hands: its lock stops, and its view changed. */
  private async settle(job: AnyJob, lock: { stop(): void }): Promise<void> {
    const { opts } = this;
    lock.stop();
    if (this.inFlight?.job === job) {
      this.inFlight = null;
      opts.monitor.busy = false;
    }
    opts.unloader.touch();
    await Promise.all([
      // Another job may already be on the GPU; only an idle upstream is marked so.
      this.inFlight === null
        ? updateUpstreamState(opts.redis, opts.prefix, opts.upstream, {
            busy: false,
            current_job: null,
            last_job_at: new Date().toISOString(),
          }).catch(reported(opts.logger, "upstream_state_write", { jobId: job.id }))
        : null,
      this.publish(job),
    ]);
  }

  private async publish(job: AnyJob): Promise<void> {
    const { opts } = this;
    await publishJobEvent(opts.redis, opts.prefix, {
      id: job.id!,
      type: "changed",
      owner: job.data.owner,
    }).catch(reported(opts.logger, "job_event_publish", { jobId: job.id }));
  }

  private async canceled(job: AnyJob): Promise<{ code: CancelCode } | null> {
    return readCancel(this.opts.redis, this.opts.prefix, job.id!);
  }

  /**
   * When the job's deadline has passed, its cancel flag is set (as the deadline sweep sets it; the
   * first writer decides, see requestCancel) and the cancel that won is returned; else null.
   */
  private async deadlineCancel(job: AnyJob): Promise<{ code: CancelCode } | null> {
    if (!pastDeadline(job)) return null;
    const { redis, prefix, retentionSeconds } = this.opts;
    const answer = await requestCancel(redis, prefix, job.id!, retentionSeconds, "deadline_exceeded");
    // An outcome decided by an earlier attempt is not ours to undo; the flag then names no cancel.
    return answer.canceled ? await this.canceled(job) : null;
  }

  /** `ran`: the GPU got the job (false: its deadline passed or it was canceled before it was sent). */
  private async discardCanceled(
    job: AnyJob,
    token: string,
    cancel?: { code: CancelCode },
    ran = true,
  ): Promise<void> {
    const { opts } = this;
    const code = (cancel ?? (await this.canceled(job)))?.code;
    await opts.store
      .deletePrefix(`results/${job.id}/`)
      // The files go with the job at the latest (sweeper, delete); nothing links to them.
      .catch(reported(opts.logger, "canceled_result_delete", { jobId: job.id }));
    const failure =
      code === "deadline_exceeded"
        ? ran
          ? DEADLINE_WHILE_RUNNING
          : DEADLINE_WHILE_QUEUED
        : CANCELED_WHILE_RUNNING;
    await job.moveToFailed(new UnrecoverableError(encodeFailure(failure)), token, false);
    opts.logger.info({ jobId: job.id, reason: failure.code }, "job canceled; result discarded");
    await opts.endings.ended(job, "canceled");
  }

  private processDeps(): ProcessDeps {
    const { opts } = this;
    return {
      upstream: opts.upstream,
      client: opts.client,
      store: opts.store,
      redis: opts.redis,
      prefix: opts.prefix,
      logger: opts.logger,
      monitor: opts.monitor,
      timings: opts.timings,
      metrics: opts.metrics,
      params: opts.params,
    };
  }
}

const pastDeadline = (job: AnyJob) =>
  job.data.deadline_at !== undefined && Date.now() >= job.data.deadline_at;

const stalledMessage = (job: AnyJob) =>
  `the job stalled more often than allowed (its dispatcher died or lost the job's lock mid-run ${job.stalledCounter} times); it is not retried again`;
