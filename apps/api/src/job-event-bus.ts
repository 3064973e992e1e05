import { EventEmitter } from "node:events";
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
 */
export class JobEventBus {
  private readonly emitter = new EventEmitter();
  private subscriber: Redis | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {
    this.emitter.setMaxListeners(0);
  }

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
      this.emitter.emit(event.id, event);
      this.emitter.emit("*", event);
    });
    await sub.subscribe(jobEventsChannel(this.prefix));
    this.subscriber = sub;
  }

  /**
   * Resolves at the next event about `id` — or about any dispatch, when `onDispatch` (queue positions
   * moved) — or after `ms`, or on abort; never rejects.
   */
  next(id: string, ms: number, opts: { signal?: AbortSignal; onDispatch?: boolean } = {}): Promise<void> {
    const { signal, onDispatch = false } = opts;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.emitter.off(id, done);
        this.emitter.off("*", onAny);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const onAny = (e: { type: string }) => {
        if (onDispatch && e.type === "dispatched") done();
      };
      const timer = setTimeout(done, ms);
      this.emitter.on(id, done);
      this.emitter.on("*", onAny);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  /** Calls `listener` with every job event until the returned function is called. */
  subscribe(listener: (event: JobEvent) => void): () => void {
    this.emitter.on("*", listener);
    return () => this.emitter.off("*", listener);
  }

  async close(): Promise<void> {
    this.subscriber?.disconnect();
    this.subscriber = null;
  }
}
