import { randomUUID } from "node:crypto";
import { ZImageWaitTimeoutError } from "./errors.js";
import { sleep } from "./retry.js";
import type { Transport } from "./transport.js";
import type { Batch, BatchCreated, BatchCreateParams, BatchPage, Job } from "./types.js";

export interface BatchWaitOptions {
  /** Give up (ZImageWaitTimeoutError) after this long; the batch carries on. Default: no limit. */
  timeoutMs?: number;
  /** Between readings of the counts. Default 2 000. */
  intervalMs?: number;
  /** Called with each reading (a progress bar). */
  onProgress?: (batch: Batch) => void;
  signal?: AbortSignal;
}

const ENDED = new Set(["completed", "canceled"]);
const PAGE = 100;

/** `/v1/batches`: many text-to-image jobs in one request, followed and canceled together. */
export class Batches {
  constructor(private readonly http: Transport) {}

  /**
   * Queues every job of the batch, or none (a bad job is a 400 naming its index, e.g. `jobs.17.size`).
   * The SDK sends a random Idempotency-Key when none is given, so its own retries never queue twice.
   */
  create(params: BatchCreateParams, opts: { idempotencyKey?: string; signal?: AbortSignal } = {}) {
    return this.http.json<BatchCreated>("/v1/batches", {
      method: "POST",
      body: params,
      idempotent: true,
      headers: { "idempotency-key": opts.idempotencyKey ?? `sdk-${randomUUID()}` },
      signal: opts.signal,
    });
  }

  /** The batch with its counts and one page of its jobs (`cursor` from `jobs.next_cursor`). */
  get(id: string, opts: { cursor?: string; limit?: number; signal?: AbortSignal } = {}): Promise<Batch> {
    return this.http.json<Batch>(`/v1/batches/${encodeURIComponent(id)}`, {
      query: { cursor: opts.cursor, limit: opts.limit },
      signal: opts.signal,
    });
  }

  /** Every job of the batch in submit order, following the pages. */
  async *jobs(id: string): AsyncGenerator<Job> {
    let cursor: string | undefined;
    do {
      const page = (await this.get(id, { limit: PAGE, ...(cursor ? { cursor } : {}) })).jobs!;
      yield* page.data;
      cursor = page.has_more && page.next_cursor ? page.next_cursor : undefined;
    } while (cursor);
  }

  /** One page of your batches, newest first. */
  list(params: { limit?: number; cursor?: string } = {}): Promise<BatchPage> {
    return this.http.json<BatchPage>("/v1/batches", { query: { ...params } });
  }

  /** Cancels every job of the batch still queued or running; `canceled_jobs` says how many. */
  cancel(id: string): Promise<Batch & { canceled_jobs: number }> {
    return this.http.json(`/v1/batches/${encodeURIComponent(id)}/cancel`, {
      method: "POST",
      idempotent: true,
    });
  }

  /** Resolves with the batch once every job has ended (`completed`) or it was canceled. */
  async waitFor(id: string, opts: BatchWaitOptions = {}): Promise<Batch> {
    const deadline = opts.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + opts.timeoutMs;
    for (;;) {
      const batch = await this.get(id, { limit: 1, signal: opts.signal });
      opts.onProgress?.(batch);
      if (ENDED.has(batch.status)) return batch;
      if (Date.now() >= deadline) throw new ZImageWaitTimeoutError(id, batch.status);
      await sleep(Math.min(opts.intervalMs ?? 2_000, Math.max(0, deadline - Date.now())), opts.signal);
    }
  }
}
