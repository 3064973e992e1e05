export type { Batches, BatchWaitOptions } from "./batches.js";
export {
  type EditInput,
  type SubmitOptions,
  type WaitOptions,
  ZImageGateway,
  type ZImageGatewayOptions,
} from "./client.js";
export {
  ZImageApiError,
  ZImageConnectionError,
  ZImageError,
  ZImageWaitTimeoutError,
  ZImageWebhookError,
} from "./errors.js";
export type * from "./types.js";
export { verifyWebhook } from "./webhooks.js";
