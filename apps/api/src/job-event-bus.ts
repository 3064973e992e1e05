import {
  type JobEvent,
  jobEventsChannel,
  type Logger,
  parseJobEvent,
  reportInternalError,
} from "@zimage/core";
import type { Redis } from "ioredis";

/**
 * The api process's single subscription to job events, fanned out in memory by job id, so a
 * thousand waiting clients cost one Redis connection, not a thousand.
 *
 * Listeners live in plain maps and sets rather than an EventEmitter: an emitter with thousands of
 * listeners on one name needs `setMaxListeners(0)`, which also silences the warning that would reveal
 * a leak. Here every waiter has a deadline (it removes itself on its event, its timeout or its abort),
 * and `counts()` shows what is registered, exported as a gauge.
 */
export class JobEventBus {
  /** Job id → the waiters woken by its next event. */
  private readonly waiters = new Map<string, Set<() => void>>();
  /** Waiters also woken by any dispatch (queue positions moved). */
  private readonly dispatchWaiters = new Set<() => void>();
  private readonly subscribers = new Set<(event: JobEvent) => void>();
  private readonly resyncListeners = new Set<() => void>();
  private waiterCount = 0;
  private subscriber: Redis | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const sub = this.redis.duplicate();
    sub.on("error", (err) => this.logger.warn({ err: err.message }, "job events subscription error"));
    sub.on("message", (_channel: string, message: string) => {
      const event = parseJobEvent(message);
      if (!event) {
        // Only our processes publish here, so an unreadable event is a bug (or a version skew).
        reportInternalError(this.logger, "job_event_parse", new Error("unreadable job event"), {
          message: message.slice(0, 200),
        });
        return;
      }
      this.emit(event);
    });
    // ioredis resubscribes after a reconnect; events published while it was away are lost, so
    // streams are told to re-read what they watch.
    let connected = false;
    sub.on("ready", () => {
      if (connected) for (const listener of [...this.resyncListeners]) listener();
      connected = true;
    });
    await sub.subscribe(jobEventsChannel(this.prefix));
    connected = true;
    this.subscriber = sub;
  }

  private emit(event: JobEvent): void {
    // Copies: a woken waiter removes itself from the set being walked.
    const forJob = this.waiters.get(event.id);
    if (forJob) for (const wake of [...forJob]) wake();
    if (event.type === "dispatched") for (const wake of [...this.dispatchWaiters]) wake();
    for (const listener of [...this.subscribers]) listener(event);
  }

  /**
   * Resolves at the next event about `id` — or about any dispatch, when `onDispatch` (queue positions
   * moved) — or after `ms`, or on abort; never rejects.
   */
  next(id: string, ms: number, opts: { signal?: AbortSignal; onDispatch?: boolean } = {}): Promise<void> {
    const { signal, onDispatch = false } = opts;
    if (signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        const forJob = this.waiters.get(id);
        if (forJob?.delete(done)) this.waiterCount--;
        if (forJob?.size === 0) this.waiters.delete(id);
        this.dispatchWaiters.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      const forJob = this.waiters.get(id) ?? new Set();
      this.waiters.set(id, forJob);
      forJob.add(done);
      this.waiterCount++;
      if (onDispatch) this.dispatchWaiters.add(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  /** Calls `listener` with every job event until the returned function is called. */
  subscribe(listener: (event: JobEvent) => void): () => void {
    // A wrapper per call, so subscribing the same function twice needs two unsubscribes.
    const entry = (event: JobEvent) => listener(event);
    this.subscribers.add(entry);
    return () => this.subscribers.delete(entry);
  }

  /** Calls `listener` after the subscription reconnects (events may have been missed) until the returned function is called. */
  onResync(listener: () => void): () => void {
    const entry = () => listener();
    this.resyncListeners.add(entry);
    return () => this.resyncListeners.delete(entry);
  }

  /** What is registered now: waiters (each with one timer) and stream subscriptions. */
  counts(): { waiters: number; subscribers: number } {
    return { waiters: this.waiterCount, subscribers: this.subscribers.size + this.resyncListeners.size };
  }

  async close(): Promise<void> {
    this.subscriber?.disconnect();
    this.subscriber = null;
  }
}
