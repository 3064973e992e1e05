import {
  type JobData,
  type JobProgress,
  type JobResult,
  jobCost,
  type Logger,
  probeImage,
  publishJobEvent,
  type ResultImage,
  recordJobDuration,
  recordJobTiming,
  recordLoadDuration,
  reported,
  type UpstreamParamRules,
} from "@zimage/core";
import type { ObjectStore } from "@zimage/storage";
import { type ImagesResponse, UpstreamTaskLostError, type ZImageClient } from "@zimage/zimage-client";
import type { Job } from "bullmq";
import type { Redis } from "ioredis";
import { DeadlinePassedError } from "./deadline-passed-error";
import type { PlannedParams } from "./effective-params";
import type { GpuMeter } from "./gpu-meter";
import { mapUpstreamFailure, toJobError } from "./job-failure-mapping";
import { LeaseLostError } from "./lease-holder";
import { outcomeOf, type WorkerMetrics } from "./metrics";
import { watchModelLoad } from "./model-load-watch";
import { waitUntilIdle } from "./upstream-idle-wait";
import type { UpstreamMonitor } from "./upstream-monitor";
import { asLoadFailure, healthSaysLoaded, sendToUpstream } from "./upstream-request";

export interface DispatchTimings {
  imageTimeoutMs: number;
  /** Allowance for the first request after a cold start: model load (minutes) plus inference. */
  coldImageTimeoutMs: number;
  pollIntervalMs: number;
  modelLoadRetries: number;
  modelLoadRetryMs: number;
}

export interface ProcessDeps {
  upstream: string;
  client: ZImageClient;
  store: ObjectStore;
  redis: Redis;
  prefix: string;
  logger: Logger;
  monitor: UpstreamMonitor;
  timings: DispatchTimings;
  metrics: WorkerMetrics;
  /**
   * True when this dispatcher's own last request on the upstream just succeeded and it has held the
   * lease throughout: nobody else can have sent the GPU work since, so the pre-flight idle check
   * and the health read can be skipped and the next request goes out at once.
   */
  gpuKnownIdle?: boolean;
  /**
   * Called immediately before each request to the GPU; throws (LeaseLostError) when the dispatcher
   * no longer provably holds the upstream's lease, so nothing is sent.
   */
  beforeSend?: () => void;
  /** The lease term this dispatch runs under (logged with it, so a late holder can be told apart). */
  leaseTerm?: number | null;
  /** The operator's defaults and bounds for this upstream (ZIMAGE_UPSTREAMS). */
  params?: UpstreamParamRules | undefined;
  /** Adds up the GPU time of this dispatch's requests (usage accounting, issue #19). */
  gpu?: GpuMeter;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });

/**
 * Runs one job against one upstream: pre-flight idle check, the synchronous image request (with the
 * upstream's "Model loading failed → wait 10 s and retry" rule applied in place), then the images
 * decoded into storage. Returns metadata only (DESIGN: images never live in Redis). `signal` aborts
 * the wait for the upstream when the worker must shut down.
 */
export async function processJob(
  job: Job<JobData, JobResult>,
  deps: ProcessDeps,
  signal?: AbortSignal,
): Promise<JobResult> {
  return saveImages(job, await requestImages(job, deps, signal), deps);
}

/** The upstream's answer to a job, before its images are stored. */
export interface UpstreamAnswer {
  response: ImagesResponse;
  effective: PlannedParams;
  loadMs: number | null;
  elapsedMs: number;
}

const jobLog = (job: Job<JobData, JobResult>, deps: ProcessDeps) =>
  deps.logger.child({ jobId: job.id, upstream: deps.upstream, attempt: job.attemptsMade + 1 });

/**
 * The GPU part of a job: pre-flight idle check, then the synchronous image request with the
 * "Model loading failed" retries. When it returns, the GPU is free for the next job.
 */
export async function requestImages(
  job: Job<JobData, JobResult>,
  deps: ProcessDeps,
  signal?: AbortSignal,
): Promise<UpstreamAnswer> {
  const log = jobLog(job, deps);
  const { timings } = deps;
  // Each phase change reaches waiting clients (SSE) through the job event channel.
  const setPhase = async (phase: JobProgress["phase"]) => {
    await job
      .updateProgress({
        phase,
        upstream: deps.upstream,
        ...(phase === "generating" && { generating_since: Date.now() }),
      } satisfies JobProgress)
      .catch(reported(deps.logger, "job_phase_write", { jobId: job.id }));
    await publishJobEvent(deps.redis, deps.prefix, {
      id: job.id!,
      type: "changed",
      owner: job.data.owner,
    }).catch(reported(deps.logger, "job_event_publish", { jobId: job.id }));
  };

  const kind = job.data.kind;
  // The dispatcher fetched this job because its upstream runs the kind (FetchPolicy.accepts).
  const mode = deps.monitor.modes?.[kind] ?? "sync";
  let response: ImagesResponse | undefined;
  let effective: PlannedParams | undefined;
  let loadMs: number | null = 0;
  let elapsedMs = 0;
  let phaseSet: Promise<void> = Promise.resolve();
  try {
    if (!deps.gpuKnownIdle) {
      await waitUntilIdle(deps.client, {
        intervalMs: timings.pollIntervalMs,
        timeoutMs: timings.imageTimeoutMs,
        signal,
      });
    }
    for (let loadAttempt = 0; !response; loadAttempt++) {
      const knownWarm =
        loadAttempt === 0 && deps.gpuKnownIdle === true && deps.monitor.pipelineLoaded(kind) === true;
      // Without an answer the job is treated as cold (its phase says loading until the model is seen).
      // On a two-pipeline server, "loaded" means this job kind's pipeline: the other one is evicted.
      const health = knownWarm ? null : await deps.client.health().catch(() => null);
      if (health) deps.monitor.readPipelines(health);
      const cold = !knownWarm && !healthSaysLoaded(health, kind);
      // A warm GPU starts at once: the phase is recorded while the request is already on its way.
      phaseSet = setPhase(cold ? "loading" : "generating");
      if (cold) await phaseSet;
      log.info({ kind: job.data.kind, cold, leaseTerm: deps.leaseTerm }, "job dispatched");
      loadMs = cold ? null : 0;
      const started = performance.now();
      const watch = cold
        ? watchModelLoad(deps.client, {
            kind,
            intervalMs: timings.pollIntervalMs,
            onLoaded: (ms) => {
              loadMs = ms;
              deps.monitor.pipelineUsed(kind);
              log.info({ loadMs: ms }, "upstream model loaded");
              void setPhase("generating");
            },
          })
        : null;
      // Once one of an async edit's tasks has returned an image, its pipeline is loaded: a later
      // task's empty 500 is then no load failure.
      let imagesDone = 0;
      // False when the lease check refused the request: nothing reached the GPU.
      let sent = true;
      try {
        ({ response, effective } = await sendToUpstream(
          job.data,
          { ...deps, mode, pollIntervalMs: timings.pollIntervalMs, onImageDone: () => imagesDone++ },
          { signal, timeoutMs: cold ? timings.coldImageTimeoutMs : timings.imageTimeoutMs },
        ));
        deps.monitor.pipelineUsed(kind);
        deps.metrics.upstreamRequests.inc({ upstream: deps.upstream, outcome: "success" });
      } catch (caught) {
        const loadFailure = asLoadFailure(caught, cold && imagesDone === 0);
        const err = loadFailure ?? caught;
        if (err instanceof LeaseLostError || err instanceof DeadlinePassedError) sent = false;
        // Nothing was sent when the lease check refused, and an abort is ours, not the upstream's.
        if (!signal?.aborted && !(err instanceof LeaseLostError) && !(err instanceof DeadlinePassedError)) {
          const code = mapUpstreamFailure(err, job.data.params.size).failure.code;
          deps.metrics.upstreamRequests.inc({ upstream: deps.upstream, outcome: outcomeOf(code) });
        }
        // A failed load leaves nothing loaded; a forgotten task means the server restarted, cold.
        if (loadFailure || err instanceof UpstreamTaskLostError) deps.monitor.setUnloaded();
        if (loadFailure) deps.metrics.upstreamLoadFailures.inc({ upstream: deps.upstream });
        // The server retries the load on the next request (shared/zimage-api.md): wait and ask again.
        if (loadFailure && loadAttempt < timings.modelLoadRetries) {
          deps.metrics.upstreamRetries.inc({ upstream: deps.upstream, reason: "model_load_failed" });
          log.warn(
            { retryInMs: timings.modelLoadRetryMs, loadAttempt: loadAttempt + 1 },
            "upstream model load failed; retrying",
          );
          await sleep(timings.modelLoadRetryMs, signal);
          continue;
        }
        throw err;
      } finally {
        watch?.stop();
        elapsedMs = Math.round(performance.now() - started);
        // A success splits like its job's timings (an unseen load counts as inference); a request
        // that failed before the model was seen loaded spent all its time loading.
        if (sent) deps.gpu?.add(loadMs ?? (response ? 0 : elapsedMs), elapsedMs);
        await phaseSet;
      }
    }
  } catch (err) {
    if (signal?.aborted || err instanceof LeaseLostError || err instanceof DeadlinePassedError) throw err;
    const mapped = mapUpstreamFailure(err, job.data.params.size);
    if (mapped.failure.code === "upstream_unavailable") deps.monitor.markDown((err as Error).message);
    log.warn(
      { code: mapped.failure.code, retryable: mapped.retryable, err: (err as Error).message },
      "job attempt failed",
    );
    throw toJobError(mapped);
  }
  return { response: response!, effective: effective!, loadMs, elapsedMs };
}

/** The rest of a job once the GPU has answered: images into storage, timings recorded. */
export async function saveImages(
  job: Job<JobData, JobResult>,
  answer: UpstreamAnswer,
  deps: ProcessDeps,
): Promise<JobResult> {
  const log = jobLog(job, deps);
  const { response, loadMs, elapsedMs, effective } = answer;
  let images: ResultImage[];
  try {
    images = await storeImages(job, response, deps);
  } catch (err) {
    throw toJobError(mapUpstreamFailure(err, job.data.params.size));
  }
  const inferenceMs = elapsedMs - (loadMs ?? 0);
  // What the upstream really produced is the effective size (the reference server keeps an edit's
  // input size and rounds generations down to multiples of 32).
  const first = images[0];
  const size = first ? `${first.width}x${first.height}` : (effective.size ?? "");
  const effective_params = { ...effective, size };
  // Feeds eta_seconds: this upstream's inference time against the cost it really ran (eta-rates.ts),
  // and its model load time separately; the rolling averages serve the fetch policy and Retry-After.
  const cost = jobCost({ ...effective_params, size: size || undefined, n: images.length || effective.n });
  await Promise.all([
    recordJobTiming(deps.redis, deps.prefix, deps.upstream, { cost, inferenceMs, loadMs }).catch(
      reported(log, "eta_stats_write"),
    ),
    recordJobDuration(deps.redis, deps.prefix, inferenceMs).catch(reported(log, "eta_stats_write")),
    loadMs
      ? recordLoadDuration(deps.redis, deps.prefix, loadMs).catch(reported(log, "eta_stats_write"))
      : null,
  ]);
  if (loadMs) deps.metrics.modelLoad.observe({ upstream: deps.upstream }, loadMs / 1000);
  deps.metrics.inference.observe({ kind: job.data.kind, upstream: deps.upstream }, inferenceMs / 1000);
  log.info({ images: images.length, elapsedMs, loadMs, inferenceMs }, "job succeeded");
  return { images, upstream: deps.upstream, load_ms: loadMs, inference_ms: inferenceMs, effective_params };
}

async function storeImages(
  job: Job<JobData, JobResult>,
  response: ImagesResponse,
  deps: ProcessDeps,
): Promise<ResultImage[]> {
  const images: ResultImage[] = [];
  // One name per dispatch of the job (BullMQ counts every start): a dispatcher that was paused past
  // its job's lock and resumes late writes beside the result of the run that completed the job,
  // never over it. Everything under results/<jobId>/ goes with the job.
  const run = job.attemptsStarted || job.attemptsMade + 1;
  for (const [i, item] of response.data.entries()) {
    const bytes = item.b64_json
      ? Buffer.from(item.b64_json, "base64")
      : await deps.client.download(item.url!);
    const info = probeImage(bytes);
    const saved = await deps.store.put(`results/${job.id}/${run}-${i}.png`, bytes, {
      contentType: info.type,
    });
    images.push({
      key: saved.key,
      width: info.width,
      height: info.height,
      bytes: saved.size,
      sha256: saved.sha256,
      revised_prompt: item.revised_prompt ?? null,
    });
  }
  return images;
}
