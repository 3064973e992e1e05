import {
  createLogger,
  createRedis,
  createWebhookQueue,
  displayUrl,
  type JobData,
  type JobResult,
  loadConfigOrExit,
  QUEUES,
  ResultUrlSigner,
  reported,
  setUpstreamCount,
} from "@zimage/core";
import { createStore, storeConfigOf } from "@zimage/storage";
import { ZImageClient } from "@zimage/zimage-client";
import { Queue } from "bullmq";
import { DeadlineSweeper } from "./deadline-sweeper";
import { Dispatcher } from "./dispatcher";
import { EndReconciler } from "./end-reconciler";
import { GpuAccounting } from "./gpu-accounting";
import { JobEndings } from "./job-endings";
import { WorkerMetrics } from "./metrics";
import { ResultSweeper } from "./result-sweeper";
import { WebhookSender } from "./webhook-sender";
import { startWorkerHttp } from "./worker-http";

const config = loadConfigOrExit();
const logger = createLogger({ name: "worker", level: config.LOG_LEVEL, pretty: config.LOG_PRETTY });
if (config.upstreams.length === 0) {
  process.stderr.write(
    "ZIMAGE_UPSTREAMS is not set: the worker needs at least one upstream (name=url,...)\n",
  );
  process.exit(1);
}

const ms = (seconds: number) => Math.round(seconds * 1000);
/** How often due deadlines are fired: a deadline fires at most this late (plus a sweep's own time). */
const DEADLINE_SWEEP_MS = 250;
const connection = createRedis(config.redis, "worker");
connection.on("error", (err) => logger.warn({ err: err.message }, "redis connection error"));
// STORAGE: files under DATA_DIR (the default) or an S3-compatible bucket.
const store = createStore(storeConfigOf(config));
const metrics = new WorkerMetrics();
const webhooks = createWebhookQueue(connection, config.QUEUE_PREFIX);

const leaseShare = { held: 0, spreadMs: ms(config.LEASE_SPREAD_SECONDS) };
const dispatchers = config.upstreams.map(
  (upstream) =>
    new Dispatcher({
      upstream,
      client: new ZImageClient({
        baseUrl: upstream.url,
        imageTimeoutMs: ms(config.IMAGE_TIMEOUT_SECONDS),
        controlTimeoutMs: ms(config.UPSTREAM_CONTROL_TIMEOUT_SECONDS),
        maxResponseBytes: config.UPSTREAM_MAX_RESPONSE_BYTES,
      }),
      store,
      connection,
      prefix: config.QUEUE_PREFIX,
      logger,
      timings: {
        imageTimeoutMs: ms(config.IMAGE_TIMEOUT_SECONDS),
        coldImageTimeoutMs: ms(config.COLD_IMAGE_TIMEOUT_SECONDS),
        pollIntervalMs: ms(config.UPSTREAM_POLL_SECONDS),
        modelLoadRetries: config.MODEL_LOAD_RETRIES,
        modelLoadRetryMs: ms(config.MODEL_LOAD_RETRY_SECONDS),
      },
      healthIntervalMs: ms(config.HEALTH_INTERVAL_SECONDS),
      breaker: { failures: config.BREAKER_FAILURES, cooldownMs: ms(config.BREAKER_COOLDOWN_SECONDS) },
      idleUnloadMs: ms(config.IDLE_UNLOAD_SECONDS),
      leaseTtlMs: ms(config.LEASE_TTL_SECONDS),
      leaseShare,
      lockDurationMs: ms(config.LOCK_DURATION_SECONDS),
      stalledIntervalMs: ms(config.STALLED_INTERVAL_SECONDS),
      maxStalledCount: config.MAX_STALLED_COUNT,
      retentionSeconds: config.RESULT_TTL,
      usageRetentionSeconds: config.USAGE_RETENTION_DAYS * 86_400,
      metrics,
      webhooks,
      webhookSchedule: config.webhookSchedule,
      pipelineWindow: { jobs: config.PIPELINE_WINDOW_JOBS, ms: ms(config.PIPELINE_WINDOW_SECONDS) },
    }),
);

const http = await startWorkerHttp({
  host: config.WORKER_METRICS_HOST,
  port: config.WORKER_METRICS_PORT,
  registry: metrics.registry,
  metricsToken: config.METRICS_TOKEN,
  redis: connection,
  logger,
  upstreams: () => dispatchers.map((d) => d.readiness()),
}).catch((err: Error) => {
  process.stderr.write(
    `worker cannot listen on ${config.WORKER_METRICS_HOST}:${config.WORKER_METRICS_PORT} for /metrics: ${err.message} (set WORKER_METRICS_PORT; 0 picks a free port)\n`,
  );
  process.exit(1);
});

const sweeper = new ResultSweeper({
  connection,
  prefix: config.QUEUE_PREFIX,
  store,
  ttlMs: ms(config.RESULT_TTL),
  intervalMs: ms(config.SWEEP_INTERVAL_SECONDS),
  owner: `${process.pid}`,
  logger,
});
sweeper.start();

const jobs = new Queue<JobData, JobResult>(QUEUES.generate, { connection, prefix: config.QUEUE_PREFIX });
// The endings no dispatcher observes: a job BullMQ ended on its own (stalled too often) and a queued
// job's deadline. A job that ran still counts in its key's usage.
const endings = new JobEndings({
  redis: connection,
  prefix: config.QUEUE_PREFIX,
  upstream: "unknown",
  metrics,
  webhooks,
  webhookSchedule: config.webhookSchedule,
  retentionSeconds: config.RESULT_TTL,
  logger,
  usage: new GpuAccounting({
    redis: connection,
    prefix: config.QUEUE_PREFIX,
    upstream: "unknown",
    metrics,
    logger,
    retentionSeconds: config.USAGE_RETENTION_DAYS * 86_400,
    boundMs: 0,
  }),
});
const reconciler = new EndReconciler({
  redis: connection,
  prefix: config.QUEUE_PREFIX,
  queue: jobs,
  endings,
  intervalMs: ms(config.STALLED_INTERVAL_SECONDS),
  logger,
});
reconciler.start();

// Every worker process sweeps due deadlines (issue #19); the end claim makes each end announced once.
const deadlines = new DeadlineSweeper({
  redis: connection,
  prefix: config.QUEUE_PREFIX,
  queue: jobs,
  store,
  endings,
  retentionSeconds: config.RESULT_TTL,
  intervalMs: DEADLINE_SWEEP_MS,
  logger,
});
deadlines.start();

const webhookSender = new WebhookSender({
  connection,
  prefix: config.QUEUE_PREFIX,
  lockDurationMs: ms(config.LOCK_DURATION_SECONDS),
  stalledIntervalMs: ms(config.STALLED_INTERVAL_SECONDS),
  jobs,
  signer: await ResultUrlSigner.create(connection, config.QUEUE_PREFIX, config.RESULT_URL_SECRET),
  publicUrl: config.PUBLIC_URL?.replace(/\/+$/, "") ?? `http://${config.HOST}:${config.PORT}`,
  resultUrlTtlSeconds: config.RESULT_URL_TTL_SECONDS,
  policy: config.webhookPolicy,
  scheduleSeconds: config.webhookSchedule,
  timeoutMs: ms(config.WEBHOOK_TIMEOUT_SECONDS),
  retentionSeconds: config.RESULT_TTL,
  metrics,
  logger,
});

// Feeds eta_seconds in the api; a failure leaves a stale count there, so it is counted, not dropped.
await setUpstreamCount(connection, config.QUEUE_PREFIX, dispatchers.length).catch(
  reported(logger, "upstream_count", { upstreams: dispatchers.length }),
);
for (const d of dispatchers) d.start();
logger.info(
  {
    upstreams: config.upstreams.map((u) => `${u.name}=${displayUrl(u.url)}`),
    queuePrefix: config.QUEUE_PREFIX,
    pid: process.pid,
    metrics: `http://${config.WORKER_METRICS_HOST}:${http.port}/metrics`,
  },
  "worker ready",
);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  const graceMs = ms(config.SHUTDOWN_GRACE_SECONDS);
  logger.info({ signal, graceMs }, "worker stopping: no new jobs; finishing the ones in flight");
  await Promise.all(dispatchers.map((d) => d.stop(graceMs)));
  await sweeper.stop();
  await reconciler.stop();
  await deadlines.stop();
  await webhookSender.close();
  await webhooks.close();
  http.server.close();
  connection.disconnect();
  logger.info("worker stopped");
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
