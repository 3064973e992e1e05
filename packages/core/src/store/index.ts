export { addJob } from "./add-job";
export {
  type ApiKeyRecord,
  countActiveApiKeys,
  countApiKeys,
  createApiKey,
  findApiKey,
  getApiKey,
  hashApiKey,
  type KeyLimits,
  type KeyRole,
  listApiKeys,
  looksLikeApiKey,
  revokeApiKey,
  setApiKeyLimits,
  tokensEqual,
} from "./api-keys";
export {
  type DispatchStats,
  getDispatchStats,
  recordJobDuration,
  recordLoadDuration,
  setUpstreamCount,
} from "./dispatch-stats";
export {
  ETA_DECAY,
  fitRate,
  type InferenceRate,
  readEtaRates,
  recordJobTiming,
  type UpstreamRate,
} from "./eta-rates";
export {
  type FairShareEvent,
  MAX_PRIORITY,
  markServed,
  nextFairPriority,
  REBASE_AT,
  resetFairShare,
  servedSlot,
  takeFairSlot,
} from "./fair-share";
export { forgetJobs } from "./forget-jobs";
export { getJobSnapshot } from "./get-job-snapshot";
export {
  claimIdempotencyKey,
  confirmIdempotencyKey,
  type IdempotencyClaim,
  releaseIdempotencyKey,
  takeOverIdempotencyKey,
} from "./idempotency";
export {
  type CancelAnswer,
  type CanceledTombstone,
  cancelRequestedAt,
  decideJobOutcome,
  deleteTombstone,
  readTombstone,
  requestCancel,
  writeTombstone,
} from "./job-cancel";
export { claimJobEnd, forgetJobEnd } from "./job-end";
export { type JobEvent, jobEventsChannel, parseJobEvent, publishJobEvent } from "./job-events";
export { goneOwner, markGone } from "./job-gone";
export { indexJob, listJobIds, unindexJobs } from "./job-index";
export { createJobQueue, type JobQueueOptions } from "./job-queue";
export { addPending, countPending, listPending, pendingSize, removePending } from "./pending-jobs";
export {
  PIPELINE_SCAN_LIMIT,
  type PipelinePick,
  type PipelinePickOptions,
  pickNextJob,
  pipelineSkipKey,
} from "./pipeline-pick";
export {
  QUEUE_HISTORY_KEEP_MINUTES,
  type QueueDepthPoint,
  readQueueHistory,
  recordQueueDepth,
} from "./queue-history";
export { isQueueIdle } from "./queue-idle";
export {
  AHEAD_EXAMINED,
  type QueuedJobCost,
  type QueuePlace,
  queuePosition,
  type RunningJobCost,
  readQueuePlace,
} from "./queue-position";
export { markDispatched, markQueued, oldestQueuedAt, RESERVATION_GRACE_MS } from "./queued-since";
export { readJobSnapshot } from "./read-job-snapshot";
export { type ReserveResult, releaseSubmit, reserveSubmit, type SubmitReservation } from "./reserve-submit";
export { findUnannouncedEnds } from "./unannounced-ends";
export { leaseKey, UpstreamLease } from "./upstream-lease";
export {
  type CircuitBreakerState,
  countUpstreamEvent,
  type LoadedPipeline,
  readUpstreamStates,
  registerUpstream,
  type UpstreamCapabilities,
  type UpstreamModes,
  type UpstreamParamRules,
  type UpstreamState,
  updateUpstreamState,
} from "./upstream-state";
export { type DeliveryAttempt, listDeliveryAttempts, recordDeliveryAttempt } from "./webhook-deliveries";
export {
  rotateWebhookSecret,
  type WebhookSecrets,
  webhookSecret,
  webhookSecrets,
  webhookSigningSecrets,
} from "./webhook-secrets";
