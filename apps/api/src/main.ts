import {
  createJobQueue,
  createLogger,
  createRedis,
  createWebhookQueue,
  loadConfigOrExit,
  ResultUrlSigner,
  redactUrl,
} from "@zimage/core";
import { createStore, storeConfigOf } from "@zimage/storage";
import { createApp } from "./app";
import { JobEventBus } from "./job-event-bus";
import { isLoopback, openModeCheck } from "./open-mode";
import { QueueDepthSampler } from "./queue-depth-sampler";
import { StreamSlots } from "./stream-slots";

const config = loadConfigOrExit();
const logger = createLogger({ name: "api", level: config.LOG_LEVEL, pretty: config.LOG_PRETTY });
const redis = createRedis(config.redis, "client");
redis.on("error", (err) => logger.warn({ err: err.message }, "redis connection error"));
const queue = createJobQueue({
  connection: redis,
  prefix: config.QUEUE_PREFIX,
  retentionSeconds: config.RESULT_TTL,
  attempts: config.JOB_ATTEMPTS,
  backoffMs: config.JOB_BACKOFF_SECONDS * 1000,
});
queue.on("error", (err) => logger.warn({ err: err.message }, "queue error"));
// STORAGE: files under DATA_DIR (the default) or an S3-compatible bucket.
const store = createStore(storeConfigOf(config));
const openMode = openModeCheck({
  redis,
  prefix: config.QUEUE_PREFIX,
  host: config.HOST,
  adminKey: config.ADMIN_API_KEY,
});

// Listen once Redis answers, so the first requests are not 503s; if it stays down, listen anyway and
// let /ready and 503 service_unavailable say so.
await new Promise<void>((resolve) => {
  if (redis.status === "ready") return resolve();
  const timer = setTimeout(() => {
    logger.warn(
      { redisUrl: redactUrl(config.REDIS_URL) },
      "Redis is not reachable yet; serving 503 until it is",
    );
    resolve();
  }, 10_000);
  redis.once("ready", () => {
    clearTimeout(timer);
    resolve();
  });
});

// Fail closed: while Redis cannot say whether a key exists, this is not open mode (no warning is
// due); the per-request check decides once Redis answers.
if (await openMode().catch(() => false)) {
  logger.warn(
    "OPEN LOCAL MODE: no API key was ever created, so every direct request on this loopback address is " +
      "treated as an admin (requests through a reverse proxy are refused). " +
      "Create a key (npx -y pnpm@10 keys create me --role admin) to turn authentication on.",
  );
} else if (!config.ADMIN_API_KEY && !isLoopback(config.HOST)) {
  // Fail closed: keys that cannot be counted are treated as none, so a public bind never starts open.
  const keys = await redis.scard(`${config.QUEUE_PREFIX}:keys:active`).catch((err: Error) => {
    logger.warn({ err: err.message }, "could not count API keys");
    return 0;
  });
  if (keys === 0) {
    process.stderr.write(
      `refusing to start on HOST=${config.HOST} without API keys: set ADMIN_API_KEY or create a key with \`pnpm keys create\`\n`,
    );
    process.exit(1);
  }
}

const events = new JobEventBus(redis, config.QUEUE_PREFIX, logger);
await events
  .start()
  .catch((err: Error) => logger.warn({ err: err.message }, "job events unavailable until Redis is"));

const app = createApp({
  events,
  streams: new StreamSlots({
    perKey: config.MAX_STREAMS_PER_KEY,
    perProcess: config.MAX_STREAMS_PER_PROCESS,
    writeTimeoutMs: config.STREAM_WRITE_TIMEOUT_SECONDS * 1000,
  }),
  queue,
  redis,
  store,
  prefix: config.QUEUE_PREFIX,
  retentionSeconds: config.RESULT_TTL,
  signer: await ResultUrlSigner.create(redis, config.QUEUE_PREFIX, config.RESULT_URL_SECRET),
  resultUrlTtlSeconds: config.RESULT_URL_TTL_SECONDS,
  webhooks: createWebhookQueue(redis, config.QUEUE_PREFIX),
  webhookPolicy: config.webhookPolicy,
  webhookSchedule: config.webhookSchedule,
  webhookSecretOverlapSeconds: config.WEBHOOK_SECRET_OVERLAP_SECONDS,
  imageRedirectSeconds:
    config.STORAGE === "s3" && config.S3_RESULT_DELIVERY === "redirect"
      ? config.S3_PRESIGN_SECONDS
      : undefined,
  logger,
  readiness: { checks: { redis: async () => redis.status === "ready" && (await redis.ping()) === "PONG" } },
  maxJsonBytes: config.MAX_JSON_BYTES,
  maxUploadBytes: config.MAX_UPLOAD_BYTES,
  publicUrl: config.PUBLIC_URL,
  adminKey: config.ADMIN_API_KEY,
  metricsToken: config.METRICS_TOKEN,
  defaultLimits: {
    rate_per_minute: config.DEFAULT_RATE_PER_MINUTE,
    max_pending: config.DEFAULT_MAX_PENDING,
    priority_weight: 1,
  },
  openMode,
  openaiWaitSeconds: config.OPENAI_WAIT_SECONDS,
  authFailureLimits: {
    maxFailures: config.AUTH_FAILURES_PER_IP,
    windowSeconds: config.AUTH_FAILURE_WINDOW_SECONDS,
  },
  trustProxy: config.TRUST_PROXY,
  consoleDir: config.CONSOLE_DIR,
  batchMaxJobs: config.BATCH_MAX_JOBS,
});
const sampler = new QueueDepthSampler({ redis, prefix: config.QUEUE_PREFIX, queue, logger });
sampler.start();

const server = app.listen(config.PORT, config.HOST, () => {
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : config.PORT;
  logger.info(
    { url: `http://${config.HOST}:${port}`, queuePrefix: config.QUEUE_PREFIX },
    `api listening on http://${config.HOST}:${port}`,
  );
});
server.on("error", (err) => {
  logger.fatal({ err }, "api could not listen");
  process.exit(1);
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "api stopping");
  server.close();
  server.closeIdleConnections();
  sampler.stop();
  await events.close();
  // Safe to drop: the process exits just below, which closes the connection anyway.
  await queue.close().catch(() => {});
  redis.disconnect();
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
