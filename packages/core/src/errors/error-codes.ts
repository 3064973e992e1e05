/**
 * Every stable error code the gateway emits, with its HTTP status. Clients switch on `code`, so
 * codes are never renamed; add new ones instead.
 */
export const ERROR_CODES = {
  // client mistakes
  invalid_request: 400,
  invalid_json: 400,
  invalid_image: 400,
  invalid_idempotency_key: 400,
  webhook_url_forbidden: 400,
  unauthorized: 401,
  invalid_api_key: 401,
  forbidden: 403,
  // A priority class the API key may not use (issue #19); details.allowed_priorities lists the ones it may.
  priority_not_allowed: 403,
  signed_url_invalid: 403,
  signed_url_expired: 403,
  not_found: 404,
  job_not_found: 404,
  batch_not_found: 404,
  image_not_found: 404,
  /** The job has no delivery of that webhook event (it never asked for it, or the delivery expired). */
  delivery_not_found: 404,
  /** The OpenAI-compatible `GET /v1/models/:id` names a model no upstream serves. */
  model_not_found: 404,
  method_not_allowed: 405,
  job_not_finished: 409,
  job_not_cancelable: 409,
  job_still_running: 409,
  input_gone: 409,
  idempotency_key_reused: 409,
  /** Another request with the same Idempotency-Key is still queueing its job. */
  idempotency_key_in_use: 409,
  /** No upstream can run the job's kind: each was discovered (or pinned) without it (issue #15). */
  capability_unavailable: 409,
  /** A redelivery was asked for a webhook delivery that is still queued, retrying or being sent. */
  delivery_pending: 409,
  job_gone: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  /** num_inference_steps or guidance_scale outside the bounds of every upstream able to run the job. */
  param_out_of_range: 422,
  rate_limited: 429,
  too_many_pending_jobs: 429,
  too_many_auth_failures: 429,
  /** The key's GPU-seconds budget for the day or month is spent (details: reset time). */
  quota_exceeded: 429,
  /** The key already holds MAX_STREAMS_PER_KEY event streams and waiting requests on this api process. */
  too_many_streams: 429,
  // gateway and its dependencies
  internal_error: 500,
  service_unavailable: 503,
  /** This api process already holds MAX_STREAMS_PER_PROCESS event streams and waiting requests. */
  streams_at_capacity: 503,
  /** The OpenAI-compatible endpoints waited their limit and the job is still queued or running. */
  job_wait_timeout: 504,
  // job failures (appear in a job's `error`, not as HTTP statuses of the job endpoints)
  upstream_rejected: 502,
  upstream_error: 502,
  upstream_model_load_failed: 502,
  upstream_out_of_memory: 502,
  upstream_unavailable: 503,
  upstream_timeout: 504,
  upstream_protocol_error: 502,
  job_canceled: 409,
  /** The job reached its `cancel_after` deadline before it finished: its status is `canceled`. */
  deadline_exceeded: 409,
  /** The job stalled (its dispatcher died or lost the job's lock mid-run) more than MAX_STALLED_COUNT times. */
  job_stalled: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;
