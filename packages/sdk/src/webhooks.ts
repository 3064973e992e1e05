import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { ZImageWebhookError } from "./errors.js";
import type { WebhookPayload } from "./types.js";

/**
 * Verifies a webhook delivery (Standard Webhooks: `webhook-id`, `webhook-timestamp`,
 * `webhook-signature`) with your `whsec_…` secret and returns its payload. Pass the raw body exactly
 * as received: re-serialised JSON does not verify. Throws ZImageWebhookError when it does not verify
 * or is older than five minutes (replays).
 */
export function verifyWebhook(
  rawBody: string | Buffer,
  headers: Headers | Record<string, string | string[] | undefined>,
  secret: string,
): WebhookPayload {
  const get = (name: string) => {
    const v = headers instanceof Headers ? headers.get(name) : headers[name];
    return Array.isArray(v) ? v[0] : (v ?? undefined);
  };
  const wanted = ["webhook-id", "webhook-timestamp", "webhook-signature"] as const;
  const picked: Record<string, string> = {};
  for (const name of wanted) {
    const value = get(name);
    if (!value) throw new ZImageWebhookError(`the ${name} header is missing`);
    picked[name] = value;
  }
  try {
    const body = typeof rawBody === "string" ? rawBody : rawBody.toString("utf8");
    return new Webhook(secret).verify(body, picked) as WebhookPayload;
  } catch (err) {
    if (err instanceof WebhookVerificationError) throw new ZImageWebhookError(err.message);
    throw new ZImageWebhookError(`the webhook could not be verified: ${(err as Error).message}`);
  }
}
