export {
  BATCH_STATUSES,
  type BatchJobRequest,
  type BatchRequest,
  type BatchStatus,
  batchJobsSchema,
  batchPromptsSchema,
  batchRequestSchema,
  DEFAULT_BATCH_MAX_JOBS,
} from "./batch-request";
export {
  type BatchCounts,
  type BatchView,
  batchCountsSchema,
  batchStatusOf,
  batchViewSchema,
  countStatuses,
} from "./batch-view";
export { type Config, ConfigError, configSchema, loadConfig, loadConfigOrExit } from "./config";
export { fitEditSize } from "./edit-size";
export { type EffectiveParams, effectiveParamsSchema } from "./effective-params";
export * from "./errors";
export { isJobId, jobIdFloor, newJobId } from "./ids";
export { type ImageInfo, INPUT_LIMITS, probeImage } from "./image-probe";
export { internalErrors, reported, reportInternalError } from "./internal-errors";
export { type CostParams, jobCost } from "./job-cost";
export { type EtaContext, estimateQueuedEta, estimateRunningEta } from "./job-eta";
export { decodeFailure, encodeFailure } from "./job-failure";
export { type JobPlace, type PlaceDeps, readJobPlace } from "./job-place";
export type {
  DefaultableParam,
  InputImageRef,
  JobData,
  JobFailure,
  JobPhase,
  JobProgress,
  JobResult,
  ResultImage,
} from "./job-record";
export {
  coerceFormFields,
  DEFAULTS,
  describeIssues,
  type EditParams,
  editRequestSchema,
  type GenerateParams,
  generateRequestSchema,
  isWellFormedText,
  type JobKind,
  type JobParams,
  MAX_CANCEL_AFTER_SECONDS,
  PRIORITY_CLASSES,
  PROMPT_MAX_CHARS,
  type PriorityClass,
  parseSize,
  SIZE_LIMITS,
  sizeSchema,
  WELL_FORMED_MESSAGE,
} from "./job-request";
export {
  buildJobView,
  CANCELED_WHILE_RUNNING,
  type CancelCode,
  DEADLINE_WHILE_QUEUED,
  DEADLINE_WHILE_RUNNING,
  JOB_STATUSES,
  type JobSnapshot,
  type JobStatus,
  type JobView,
  jobViewSchema,
  type QueueState,
  statusOf,
  type ViewContext,
} from "./job-view";
export { createLogger, type Logger, REDACT_PATHS } from "./logger";
export { createMetricsRegistry, JOB_DURATION_BUCKETS, METRIC_PREFIX, metricsAuthorized } from "./metrics";
export { QUEUES } from "./queues";
export { redactRequestTarget, redactUrl } from "./redact-url";
export {
  createRedis,
  parseRedisNodes,
  pingRedis,
  type RedisConnection,
  type RedisNode,
  type RedisRole,
  type RedisTarget,
} from "./redis";
export { ResultUrlSigner } from "./result-url-signer";
export * from "./store";
export { displayUrl, parseUpstreams, type UpstreamConfig } from "./upstreams";
export { dayStart, daysBetween, periodEnd, type UsagePeriod, utcDay, utcMonth } from "./usage-period";
export { forbiddenAddressRange, isPublicAddress } from "./webhook-address";
export { type EventView, eventView, snapshotAtEvent, withImageUrls } from "./webhook-event-view";
export { guardedLookup, isSsrfRefusal, SSRF_REFUSED } from "./webhook-guarded-lookup";
export { createWebhookQueue, type DeliveryData, deliveryAttempts, notifyWebhook } from "./webhook-queue";
export {
  checkWebhookUrl,
  type HostResolver,
  systemResolver,
  type WebhookUrlPolicy,
  webhookHost,
} from "./webhook-url-guard";
