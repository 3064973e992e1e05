import { randomUUID } from "node:crypto";
import { Batches } from "./batches.js";
import { ZImageConnectionError, ZImageWaitTimeoutError } from "./errors.js";
import { jobEvents } from "./job-events.js";
import { backoffMs, sleep } from "./retry.js";
import { Transport } from "./transport.js";
import type {
  ApiKey,
  DeadLetterPage,
  DeliveryAttempt,
  EditParams,
  GenerateParams,
  Job,
  JobPage,
  KeyLimits,
  ListParams,
  Model,
  Redelivery,
  Upstream,
  Usage,
  UsageParams,
  WebhookEvent,
} from "./types.js";

export interface ZImageGatewayOptions {
  /** Default: $ZIMAGE_GATEWAY_URL, else http://127.0.0.1:8080. */
  baseUrl?: string;
  /** Default: $ZIMAGE_API_KEY. Not needed against a gateway in open local mode. */
  apiKey?: string;
  /** Retries on 429/503 (honouring Retry-After) and on lost connections where repeating is safe. Default 3. */
  maxRetries?: number;
  /** A Retry-After longer than this is not waited out. Default 60 000. */
  maxRetryDelayMs?: number;
  /** Per request attempt. Default 60 000. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export interface SubmitOptions {
  /**
   * Makes the submit safe to repeat: the same key and body give the same job for 24 h. The SDK
   * sends a random one when none is given, so its own retries never queue a job twice.
   */
  idempotencyKey?: string;
  /** Hold the request up to this many seconds (at most 60) for the job to finish. */
  waitSeconds?: number;
  signal?: AbortSignal;
}

export interface EditInput {
  /** PNG or JPEG bytes. */
  image: Blob | Uint8Array | ArrayBuffer;
  filename?: string;
}

export interface WaitOptions {
  /** Give up (ZImageWaitTimeoutError) after this long; the job carries on. Default: no limit. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

const FINISHED = new Set(["succeeded", "failed", "canceled"]);
/** The gateway holds a GET ?wait=N for at most 60 s; 30 keeps clear of proxies' idle timeouts. */
const LONG_POLL_SECONDS = 30;
const STREAM_IDLE_MS = 45_000;

/**
 * A client for Z-Image Gateway's native API. Submits return the job at once (`status: "queued"`);
 * follow it with `waitFor`, `events` or a webhook, then `download` its images.
 */
export class ZImageGateway {
  private readonly http: Transport;
  readonly baseUrl: string;
  /** Batches of text-to-image jobs (`/v1/batches`): create, get, list, cancel, waitFor, jobs. */
  readonly batches: Batches;

  constructor(options: ZImageGatewayOptions = {}) {
    this.baseUrl = options.baseUrl ?? process.env.ZIMAGE_GATEWAY_URL ?? "http://127.0.0.1:8080";
    this.http = new Transport({
      baseUrl: this.baseUrl,
      apiKey: options.apiKey ?? process.env.ZIMAGE_API_KEY,
      maxRetries: options.maxRetries ?? 3,
      maxRetryDelayMs: options.maxRetryDelayMs ?? 60_000,
      timeoutMs: options.timeoutMs ?? 60_000,
      fetch: options.fetch ?? globalThis.fetch,
      userAgent: "zimage-sdk/0.1.0",
    });
    this.batches = new Batches(this.http);
  }

  /** Queues a text-to-image job. */
  generate(params: GenerateParams, opts: SubmitOptions = {}): Promise<Job> {
    return this.submit({ body: params }, opts);
  }

  /** Queues an image-to-image job with `input.image` as the source. */
  edit(input: EditInput, params: EditParams, opts: SubmitOptions = {}): Promise<Job> {
    const form = new FormData();
    const blob =
      input.image instanceof Blob
        ? input.image
        : new Blob([input.image instanceof ArrayBuffer ? new Uint8Array(input.image) : input.image]);
    form.set("image", blob, input.filename ?? "input.png");
    const { webhook, ...rest } = params;
    for (const [k, v] of Object.entries(rest)) if (v !== undefined) form.set(k, String(v));
    if (webhook) {
      form.set("webhook_url", webhook.url);
      if (webhook.events) form.set("webhook_events", webhook.events.join(","));
    }
    return this.submit({ form }, opts);
  }

  private submit(payload: { body?: unknown; form?: FormData }, opts: SubmitOptions): Promise<Job> {
    const wait = Math.min(60, Math.max(0, Math.floor(opts.waitSeconds ?? 0)));
    return this.http.json<Job>("/v1/jobs", {
      method: "POST",
      ...payload,
      idempotent: true,
      headers: {
        "idempotency-key": opts.idempotencyKey ?? `sdk-${randomUUID()}`,
        ...(wait > 0 ? { prefer: `wait=${wait}` } : {}),
      },
      holdMs: wait * 1000,
      signal: opts.signal,
    });
  }

  /** The job as it stands; with `waitSeconds`, held until it finishes or that time passes. */
  get(id: string, opts: { waitSeconds?: number; signal?: AbortSignal } = {}): Promise<Job> {
    const wait = Math.min(60, Math.max(0, Math.floor(opts.waitSeconds ?? 0)));
    return this.http.json<Job>(`/v1/jobs/${encodeURIComponent(id)}`, {
      query: { wait: wait > 0 ? wait : undefined },
      holdMs: wait * 1000,
      signal: opts.signal,
    });
  }

  /** One page of your jobs (an admin's: everyone's), newest first. */
  list(params: ListParams = {}): Promise<JobPage> {
    return this.http.json<JobPage>("/v1/jobs", { query: { ...params } });
  }

  /** Every job matching `params`, following the cursor. */
  async *listAll(params: Omit<ListParams, "cursor"> = {}): AsyncGenerator<Job> {
    let cursor: string | undefined;
    do {
      const page = await this.list({ ...params, ...(cursor ? { cursor } : {}) });
      yield* page.data;
      cursor = page.has_more && page.next_cursor ? page.next_cursor : undefined;
    } while (cursor);
  }

  /** A new job with the same parameters (and, for an edit, the same input image) as `id`. */
  retry(id: string, opts: Omit<SubmitOptions, "waitSeconds"> = {}): Promise<Job> {
    return this.http.json<Job>(`/v1/jobs/${encodeURIComponent(id)}/retry`, {
      method: "POST",
      idempotent: true,
      headers: { "idempotency-key": opts.idempotencyKey ?? `sdk-${randomUUID()}` },
      signal: opts.signal,
    });
  }

  /**
   * Deletes a finished job with its images and input (resolves with null). A job still queued or
   * running is canceled instead (resolves with the canceled job); delete it once it has ended.
   * Not retried on a lost connection: a repeat could delete what the first call only canceled.
   */
  async delete(id: string): Promise<Job | null> {
    const res = await this.http.send(`/v1/jobs/${encodeURIComponent(id)}`, { method: "DELETE" });
    return res.status === 204 ? null : ((await res.json()) as Job);
  }

  /** Cancels a queued job, or a running one (its result is then discarded). */
  cancel(id: string): Promise<Job> {
    return this.http.json<Job>(`/v1/jobs/${encodeURIComponent(id)}/cancel`, { method: "POST" });
  }

  /**
   * Resolves with the job once it has finished (succeeded, failed or canceled: check `status`).
   * Long-polls the gateway, so it learns of the end at once without hammering it; lost connections
   * and 429/503 answers are retried with backoff.
   */
  async waitFor(id: string, opts: WaitOptions = {}): Promise<Job> {
    const deadline = opts.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + opts.timeoutMs;
    let failures = 0;
    for (;;) {
      const left = Math.ceil((deadline - Date.now()) / 1000);
      let job: Job;
      try {
        job = await this.get(id, {
          waitSeconds: Math.max(0, Math.min(LONG_POLL_SECONDS, left)),
          signal: opts.signal,
        });
        failures = 0;
      } catch (err) {
        // The transport already retried; a gateway restart can take longer, so keep backing off.
        if (!(err instanceof ZImageConnectionError) || Date.now() >= deadline) throw err;
        await sleep(backoffMs(failures++, 1_000, 15_000), opts.signal);
        continue;
      }
      if (FINISHED.has(job.status)) return job;
      if (Date.now() >= deadline) throw new ZImageWaitTimeoutError(id, job.status);
    }
  }

  /**
   * The job on each change (queue position, phase, status) until it finishes, over server-sent
   * events. A dropped stream is resumed where it left off.
   */
  async *events(id: string, opts: { signal?: AbortSignal } = {}): AsyncGenerator<Job> {
    let lastEventId: string | undefined;
    for (let attempt = 0; ; ) {
      // The stream stays open as long as the job runs, so instead of a deadline it has an idle limit:
      // the gateway sends a heartbeat every 15 s, and a stream silent for much longer is dead.
      const idle = new AbortController();
      let idleTimer = setTimeout(() => idle.abort(new Error("no heartbeat")), STREAM_IDLE_MS);
      const alive = () => {
        clearTimeout(idleTimer);
        idleTimer = setTimeout(() => idle.abort(new Error("no heartbeat")), STREAM_IDLE_MS);
      };
      const signal = opts.signal ? AbortSignal.any([opts.signal, idle.signal]) : idle.signal;
      let last: Job | undefined;
      try {
        const res = await this.http.send(`/v1/jobs/${encodeURIComponent(id)}/events`, {
          headers: { accept: "text/event-stream", ...(lastEventId ? { "last-event-id": lastEventId } : {}) },
          holdMs: null,
          signal,
        });
        for await (const { job, id: eventId } of jobEvents(res.body!, alive)) {
          last = job;
          lastEventId = eventId ?? lastEventId;
          attempt = 0;
          yield job;
        }
      } catch (err) {
        if (opts.signal?.aborted) throw opts.signal.reason;
        const lost = err instanceof ZImageConnectionError || idle.signal.aborted || err instanceof TypeError;
        if (!lost) throw err;
        if (attempt >= 5) throw new ZImageConnectionError(`event stream lost: ${(err as Error).message}`);
      } finally {
        clearTimeout(idleTimer);
      }
      if (last && FINISHED.has(last.status)) return;
      // Ended before the final state (a restart, a proxy): resume, or read the end directly.
      await sleep(backoffMs(attempt++), opts.signal);
    }
  }

  /** The PNG bytes of image `index` of a finished job. */
  async download(id: string, index = 0): Promise<Uint8Array> {
    const res = await this.http.send(`/v1/jobs/${encodeURIComponent(id)}/images/${index}`, {
      headers: { accept: "image/png" },
      holdMs: 240_000,
    });
    return new Uint8Array(await res.arrayBuffer());
  }

  /** The webhook delivery attempts of a job. */
  async deliveries(id: string): Promise<DeliveryAttempt[]> {
    return (
      await this.http.json<{ data: DeliveryAttempt[] }>(`/v1/jobs/${encodeURIComponent(id)}/deliveries`)
    ).data;
  }

  /**
   * Sends a finished webhook delivery of `event` again, with the same webhook-id and payload, signed
   * with your current secret (`409 delivery_pending` while it is still queued or retrying).
   */
  async redeliver(jobId: string, event: WebhookEvent): Promise<Redelivery> {
    return this.http.json<Redelivery>(
      `/v1/jobs/${encodeURIComponent(jobId)}/deliveries/${encodeURIComponent(event)}/redeliver`,
      { method: "POST" },
    );
  }

  /** Deliveries that ended unaccepted, newest first (admin); pass `next_cursor` for the next page. */
  async deadLetters(opts: { limit?: number; cursor?: string } = {}): Promise<DeadLetterPage> {
    const q = new URLSearchParams({ state: "exhausted" });
    if (opts.limit !== undefined) q.set("limit", String(opts.limit));
    if (opts.cursor) q.set("cursor", opts.cursor);
    return this.http.json<DeadLetterPage>(`/v1/admin/deliveries?${q}`);
  }

  /** Your webhook signing secret (`whsec_…`), for `verifyWebhook`. */
  async webhookSecret(): Promise<string> {
    return (await this.http.json<{ secret: string }>("/v1/webhook-secret")).secret;
  }

  /** A new webhook signing secret; deliveries from now on are signed with it. */
  async rotateWebhookSecret(): Promise<string> {
    return (await this.http.json<{ secret: string }>("/v1/webhook-secret/rotate", { method: "POST" })).secret;
  }

  /** Each upstream's state (admin). */
  async upstreams(): Promise<Upstream[]> {
    return (await this.http.json<{ data: Upstream[] }>("/v1/upstreams")).data;
  }

  /** GPU usage by UTC day and upstream: yours, or (admin) another key's or all keys' (`key: "all"`). */
  usage(params: UsageParams = {}): Promise<Usage> {
    return this.http.json<Usage>("/v1/usage", { query: { ...params } });
  }

  /** The models the upstreams serve. */
  async models(): Promise<Model[]> {
    return (await this.http.json<{ data: Model[] }>("/v1/models")).data;
  }

  /** API keys (admin). */
  readonly keys = {
    /** The key itself is in this answer only. */
    create: (input: { name: string; role?: "admin" | "user" } & Partial<KeyLimits>) =>
      this.http.json<ApiKey & { key: string }>("/v1/admin/keys", { method: "POST", body: input }),
    list: async () => (await this.http.json<{ data: ApiKey[] }>("/v1/admin/keys")).data,
    revoke: (id: string) =>
      this.http.json<ApiKey>(`/v1/admin/keys/${encodeURIComponent(id)}`, {
        method: "DELETE",
        idempotent: true,
      }),
    setLimits: (id: string, limits: Partial<KeyLimits>) =>
      this.http.json<ApiKey>(`/v1/admin/keys/${encodeURIComponent(id)}`, { method: "PATCH", body: limits }),
  };
}
