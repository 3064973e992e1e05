import { DEFAULT_BATCH_MAX_JOBS, type KeyLimits, type Logger } from "@zimage/core";
import cookieParser from "cookie-parser";
import express, { type Express } from "express";
import type { Redis } from "ioredis";
import { authenticate, KeyResolver, requireAdmin } from "./auth";
import { AuthFailureLimiter, type AuthFailureLimits } from "./auth-failure-limiter";
import { BatchService } from "./batch-service";
import { errorHandler, notFoundHandler } from "./error-handler";
import type { JobDeps } from "./job-access";
import type { JobEventBus } from "./job-event-bus";
import { JobService } from "./job-service";
import { ApiMetrics } from "./metrics";
import { openapiRouter } from "./openapi/router";
import { requestLog } from "./request-log";
import { adminKeysRouter } from "./routes/admin-keys";
import { adminQueueHistoryRouter } from "./routes/admin-queue-history";
import { adminUiRouter } from "./routes/admin-ui";
import { batchesRouter } from "./routes/batches";
import { consoleRouter } from "./routes/console";
import { healthRouter, type Readiness } from "./routes/health";
import { jobsRouter } from "./routes/jobs";
import { openaiImagesRouter } from "./routes/openai-images";
import { sessionRouter } from "./routes/session";
import { signedImageRouter } from "./routes/signed-image";
import { upstreamsRouter } from "./routes/upstreams";
import { usageRouter } from "./routes/usage";
import { webhooksRouter } from "./routes/webhooks";
import { OriginCheck } from "./same-origin";
import { storeAvailable } from "./store-available";
import type { StreamSlots } from "./stream-slots";
import { SubmitLimiter } from "./submit-limiter";

export interface AppDeps extends JobDeps {
  redis: Redis;
  logger: Logger;
  readiness: Readiness;
  maxJsonBytes: number;
  maxUploadBytes: number;
  publicUrl?: string | undefined;
  adminKey?: string | undefined;
  defaultLimits: KeyLimits;
  /** This process's subscription to job events (started by the caller). */
  events: JobEventBus;
  /** MAX_STREAMS_PER_KEY / MAX_STREAMS_PER_PROCESS: the SSE streams and waiting requests held open. */
  streams: StreamSlots;
  /** Bearer token for /metrics; open when unset. */
  metricsToken?: string | undefined;
  /** Open local mode: no key was ever created and the api is bound to loopback (see open-mode.ts). */
  openMode: () => Promise<boolean>;
  /** OPENAI_WAIT_SECONDS: how long the OpenAI-compatible endpoints hold a request for its job. */
  openaiWaitSeconds?: number | undefined;
  /** AUTH_FAILURES_PER_IP / AUTH_FAILURE_WINDOW_SECONDS; unset: no per-IP limit. */
  authFailureLimits?: AuthFailureLimits | undefined;
  /** TRUST_PROXY, as Express's "trust proxy" setting: whose X-Forwarded-For names the client. */
  trustProxy?: string | undefined;
  /** CONSOLE_DIR: the built web console served at `/`. */
  consoleDir?: string | undefined;
  /** WEBHOOK_SECRET_OVERLAP_SECONDS (see routes/webhooks.ts). */
  webhookSecretOverlapSeconds?: number | undefined;
  /**
   * S3_RESULT_DELIVERY=redirect: signed image URLs answer 302 to a presigned URL of the object store
   * valid this long (S3_PRESIGN_SECONDS); unset: the api streams the image (the default).
   */
  imageRedirectSeconds?: number | undefined;
  /** BATCH_MAX_JOBS: the most jobs one `POST /v1/batches` may hold. */
  batchMaxJobs?: number | undefined;
}

/** A batch's body may hold BATCH_MAX_JOBS job requests: this much JSON per job (two 4000-character prompts, escaped). */
const BATCH_JSON_BYTES_PER_JOB = 16 * 1024;

export function createApp(deps: AppDeps): Express {
  const app = express();
  const metrics = new ApiMetrics(deps);
  app.disable("x-powered-by");
  app.set("trust proxy", trustProxySetting(deps.trustProxy));
  app.set("etag", false);
  app.use(requestLog(deps.logger));
  app.use(metrics.httpMiddleware());
  app.use(healthRouter(deps.readiness));
  app.use(metrics.router(deps.metricsToken));
  app.use(openapiRouter());

  const limiter = new SubmitLimiter(deps.redis, deps.prefix);
  const jobs = new JobService(deps, limiter);
  const batchMaxJobs = deps.batchMaxJobs ?? DEFAULT_BATCH_MAX_JOBS;
  const batches = new BatchService(deps, limiter, batchMaxJobs);
  const keys = new KeyResolver({
    redis: deps.redis,
    prefix: deps.prefix,
    adminKey: deps.adminKey,
    defaults: deps.defaultLimits,
    openMode: deps.openMode,
    logger: deps.logger,
    failures: deps.authFailureLimits
      ? new AuthFailureLimiter(deps.redis, deps.prefix, deps.authFailureLimits)
      : undefined,
  });
  // The site's own origin for browser requests: PUBLIC_URL's scheme when set (see same-origin.ts).
  const origins = new OriginCheck(deps.publicUrl);
  const auth = authenticate(keys, origins);
  const authenticated = [
    "/v1/jobs",
    "/v1/batches",
    "/v1/events",
    "/v1/upstreams",
    "/v1/admin",
    "/v1/webhook-secret",
    "/v1/usage",
  ];
  app.use(consoleRouter(deps.consoleDir));
  app.use(cookieParser());
  app.use(["/admin"], storeAvailable(deps.redis));
  app.use(adminUiRouter({ ...deps, keys, origins }));
  app.use(
    sessionRouter({ ...deps, keys, origins, storeAvailable: storeAvailable(deps.redis), authenticate: auth }),
  );
  app.use(authenticated, storeAvailable(deps.redis));
  app.use(
    signedImageRouter({
      jobs,
      verify: (...args) => deps.signer.verify(...args),
      logger: deps.logger,
      redirectSeconds: deps.imageRedirectSeconds ?? null,
    }),
  );
  app.use(authenticated, auth);
  app.use(["/v1/upstreams", "/v1/admin"], requireAdmin);
  app.use(jobsRouter({ ...deps, jobs, jobDeps: deps, metrics }));
  app.use(
    batchesRouter({
      ...deps,
      batches,
      jobDeps: deps,
      metrics,
      maxBatchJsonBytes: Math.max(deps.maxJsonBytes, batchMaxJobs * BATCH_JSON_BYTES_PER_JOB),
    }),
  );
  app.use(adminQueueHistoryRouter(deps));
  app.use(upstreamsRouter(deps));
  app.use(webhooksRouter({ ...deps, onRedelivery: () => metrics.webhookRedeliveries.inc() }));
  app.use(usageRouter(deps));
  app.use(adminKeysRouter({ ...deps, defaults: deps.defaultLimits }));
  app.use(
    openaiImagesRouter({
      ...deps,
      jobs,
      metrics,
      waitSeconds: deps.openaiWaitSeconds ?? 540,
      guards: [storeAvailable(deps.redis), auth],
    }),
  );
  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}

/** "false" | "true" | a hop count | Express's names and CIDRs ("loopback", "10.0.0.0/8, uniquelocal"). */
function trustProxySetting(value: string | undefined): boolean | number | string {
  if (value === undefined || value === "" || value === "false") return false;
  if (value === "true") return true;
  return /^\d+$/.test(value) ? Number(value) : value;
}
