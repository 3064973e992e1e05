import {
  checkWebhookUrl,
  guardedLookup,
  type HostResolver,
  isSsrfRefusal,
  SSRF_REFUSED,
  systemResolver,
  type WebhookUrlPolicy,
} from "@zimage/core";
import { Agent, type Dispatcher, request } from "undici";

const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * The connection pool webhooks go out through: every connection resolves its host with the SSRF
 * guard's `guardedLookup`, so it reaches only an address that passed the guard's rule. Only the lookup
 * changes: the URL's host still names the connection, so TLS SNI, certificate checks and `Host` stay
 * those of the webhook's own name.
 */
export function webhookAgent(policy: WebhookUrlPolicy, resolve: HostResolver = systemResolver): Agent {
  return new Agent({
    connect: { lookup: guardedLookup(policy, resolve) },
    // undici 8 speaks HTTP/2 to any TLS receiver that offers it. The timeouts, the 64 KB read cap and
    // the guard are tested over HTTP/1.1 only, so deliveries stay there until h2 is tested too.
    allowH2: false,
  });
}

export interface WebhookAttemptOptions {
  policy: WebhookUrlPolicy;
  /** `webhookAgent(policy, resolve)`, made once and reused for keep-alive. */
  dispatcher: Dispatcher;
  resolve?: HostResolver;
  timeoutMs: number;
}

export interface WebhookAttemptOutcome {
  statusCode: number | null;
  /** What the deliveries log shows the client: null when delivered. */
  error: string | null;
  /** No retry can help: the guard refused, or the receiver answered a 4xx other than 408 and 429. */
  final: boolean;
  /** The full reason, for the operator's log only (it may name addresses the client must not see). */
  detail?: string;
}

/**
 * One delivery attempt: the SSRF guard on the URL, then a POST through the guarded agent. Redirects
 * are not followed and the answer is read up to 64 KB. `build` makes the body and headers once the
 * URL has passed (signing needs the owner's secrets, not worth reading for a refused URL).
 */
export async function attemptWebhook(
  rawUrl: string,
  build: () => Promise<{ body: string; headers: Record<string, string> }>,
  opts: WebhookAttemptOptions,
): Promise<WebhookAttemptOutcome> {
  let statusCode: number | null = null;
  try {
    const url = await checkWebhookUrl(rawUrl, opts.policy, opts.resolve);
    const { body, headers } = await build();
    const res = await request(url, {
      method: "POST",
      body,
      headers,
      dispatcher: opts.dispatcher,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    statusCode = res.statusCode;
    let read = 0;
    for await (const chunk of res.body) {
      read += (chunk as Buffer).length;
      if (read > MAX_RESPONSE_BYTES) {
        res.body.destroy();
        break;
      }
    }
    if (statusCode >= 200 && statusCode < 300) return { statusCode, error: null, final: false };
    const final = statusCode >= 400 && statusCode < 500 && statusCode !== 408 && statusCode !== 429;
    return { statusCode, error: `answered ${statusCode}`, final };
  } catch (err) {
    const detail = (err as Error).message;
    if (isSsrfRefusal(err)) return { statusCode: null, error: SSRF_REFUSED, final: true, detail };
    return { statusCode, error: detail, final: false, detail };
  }
}
