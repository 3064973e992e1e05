export { addJob } from "./add-job";
export {
  type ApiKeyRecord,
  countActiveApiKeys,
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
  estimateEta,
  getDispatchStats,
  recordJobDuration,
  recordLoadDuration,
  setUpstreamCount,
} from "./dispatch-stats";
export { MAX_PRIORITY, markServed, nextFairPriority, resetFairShare, servedSlot } from "./fair-share";
export { getJobSnapshot } from "./get-job-snapshot";
export { claimIdempotencyKey, type IdempotencyClaim, releaseIdempotencyKey } from "./idempotency";
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
  QUEUE_HISTORY_KEEP_MINUTES,
  type QueueDepthPoint,
  readQueueHistory,
  recordQueueDepth,
} from "./queue-history";
export { isQueueIdle } from "./queue-idle";
export { queuePosition } from "./queue-position";
export { markDispatched, markQueued, oldestQueuedAt } from "./queued-since";
export { readJobSnapshot } from "./read-job-snapshot";
export { leaseKey, UpstreamLease } from "./upstream-lease";
export {
  countUpstreamEvent,
  readUpstreamStates,
  registerUpstream,
  type UpstreamState,
  updateUpstreamState,
} from "./upstream-state";
export { type DeliveryAttempt, listDeliveryAttempts, recordDeliveryAttempt } from "./webhook-deliveries";
export { rotateWebhookSecret, webhookSecret } from "./webhook-secrets";
