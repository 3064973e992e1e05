export { isRetryable } from "./is-retryable";
export { UpstreamConnectionError } from "./upstream-connection-error";
export { MAX_ERROR_BODY_CHARS, UpstreamError, type UpstreamErrorCode } from "./upstream-error";
export { UpstreamHttpError } from "./upstream-http-error";
export { UpstreamModelLoadError } from "./upstream-model-load-error";
export { UpstreamOutOfMemoryError } from "./upstream-out-of-memory-error";
export { UpstreamProtocolError } from "./upstream-protocol-error";
export { UpstreamTaskLostError } from "./upstream-task-lost-error";
export { UpstreamTimeoutError } from "./upstream-timeout-error";
