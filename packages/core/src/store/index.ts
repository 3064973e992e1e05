export { addJob, addJobs } from "./add-job";
export {
  type ApiKeyRecord,
  allowedClasses,
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
  BATCH_INDEX_KEEP,
  type BatchRecord,
  batchJobIds,
  batchKeys,
  batchTtlSeconds,
  isBatchId,
  listBatchIds,
  markBatchCanceled,
  readBatch,
  touchBatch,
} from "./batch-records";
export { deadlineIndexKey, dueDeadlines, forgetDeadline } from "./deadline-index";
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
  CLASS_SPAN,
  classOf,
  FAIR_SLOT_LUA,
  type FairShareEvent,
  fairSlotKeys,
  MAX_INTERACTIVE_PRIORITY,
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
  admitDispatch,
  checkQuota,
  type DispatchAdmission,
  type GpuBudget,
  type QuotaState,
  quotaExceeded,
  releaseDispatch,
} from "./gpu-quota";
export {
  type DayUsage,
  readGpuUsed,
  readUsage,
  recordGpuAttempt,
  recordJobUsage,
  type UsageCounts,
  type UsageRecordBase,
  type UsageTable,
} from "./gpu-usage";
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
  readCancel,
  readTombstone,
  requestCancel,
  writeTombstone,
} from "./job-cancel";
export { claimJobEnd, forgetJobEnd } from "./job-end";
export { type JobEvent, jobEventsChannel, parseJobEvent, publishJobEvent } from "./job-events";
export { goneOwner, markGone } from "./job-gone";
export { indexJob, listJobIds, unindexJobs } from "./job-index";
export { createJobQueue, type JobQueueOptions } from "./job-queue";
export { type JobStateRow, readJobStates } from "./job-states";
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
export { type Redelivery, redeliverWebhook } from "./redeliver-webhook";
export {
  type BatchJobSlot,
  type BatchReservation,
  type ReserveBatchResult,
  releaseBatch,
  reserveBatch,
} from "./reserve-batch";
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
export {
  countDeadLetters,
  DEAD_LETTER_CURSOR,
  type DeadLetterRef,
  deadLetterCursor,
  forgetDeadLetters,
  listDeadLetters,
  MAX_DEAD_LETTERS,
  recordDeadLetter,
} from "./webhook-dead-letters";
export { type DeliveryAttempt, listDeliveryAttempts, recordDeliveryAttempt } from "./webhook-deliveries";
export {
  rotateWebhookSecret,
  type WebhookSecrets,
  webhookSecret,
  webhookSecrets,
  webhookSigningSecrets,
} from "./webhook-secrets";
