import {
  countDeadLetters,
  createMetricsRegistry,
  GatewayError,
  METRIC_PREFIX,
  metricsAuthorized,
  oldestQueuedAt,
} from "@zimage/core";
import type { Queue } from "bullmq";
import { type RequestHandler, Router } from "express";
import type { Redis } from "ioredis";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { JobEventBus } from "./job-event-bus";
import type { StreamSlots } from "./stream-slots";

const QUEUE_STATES = ["waiting", "prioritized", "active", "delayed", "completed", "failed"] as const;

/**
 * Fair-share clock events (store/fair-share.ts), counted where a submit caused them. Module-level (like
 * core's internal-errors counter) because the submit path has no registry; every ApiMetrics registry
 * exports them. No per-key labels: the clock is global.
 */
export const fairShareRebases = new Counter({
  name: `${METRIC_PREFIX}fair_share_rebases_total`,
  help: "Re-bases of the fair-share virtual clock (slots and queued priorities moved down near BullMQ's limit)",
  registers: [],
});
export const fairShareSaturated = new Counter({
  name: `${METRIC_PREFIX}fair_share_saturated_total`,
  help: "Jobs whose fair-share priority was capped at BullMQ's limit (the backlog spans the whole range)",
  registers: [],
});

/** The api's Prometheus series (docs/metrics.md). Queue gauges are read from Redis at scrape time. */
export class ApiMetrics {
  readonly registry: Registry;
  readonly jobsSubmitted: Counter<"kind">;
  readonly jobsCanceled: Counter<"kind">;
  readonly sseEventsCoalesced: Counter;
  readonly sseClientsStalled: Counter;
  readonly webhookRedeliveries: Counter;
  private readonly httpDuration: Histogram<"method" | "route" | "status_code">;

  constructor(deps: {
    queue: Queue;
    redis: Redis;
    prefix: string;
    events: JobEventBus;
    streams: StreamSlots;
  }) {
    const registry = createMetricsRegistry("api");
    this.registry = registry;
    registry.registerMetric(fairShareRebases);
    registry.registerMetric(fairShareSaturated);
    this.httpDuration = new Histogram({
      name: `${METRIC_PREFIX}http_request_duration_seconds`,
      help: "HTTP request duration by route template and status",
      labelNames: ["method", "route", "status_code"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.jobsSubmitted = new Counter({
      name: `${METRIC_PREFIX}jobs_submitted_total`,
      help: "Jobs accepted for the queue",
      labelNames: ["kind"],
      registers: [registry],
    });
    this.jobsCanceled = new Counter({
      name: `${METRIC_PREFIX}jobs_canceled_total`,
      help: "Jobs canceled by their owner",
      labelNames: ["kind"],
      registers: [registry],
    });
    this.webhookRedeliveries = new Counter({
      name: `${METRIC_PREFIX}webhook_redeliveries_total`,
      help: "Webhook deliveries sent again on request (POST /v1/jobs/:id/deliveries/:event/redeliver)",
      registers: [registry],
    });
    new Gauge({
      name: `${METRIC_PREFIX}webhook_dead_letters`,
      help: "Webhook deliveries in the dead-letter index (ended unaccepted, within RESULT_TTL), read at scrape time",
      registers: [registry],
      async collect() {
        this.set(await countDeadLetters(deps.redis, deps.prefix));
      },
    });
    this.registerStreamMetrics(registry, deps);
    this.sseEventsCoalesced = new Counter({
      name: `${METRIC_PREFIX}sse_events_coalesced_total`,
      help: "SSE events replaced by a newer one for the same job while the client was not reading",
      registers: [registry],
    });
    this.sseClientsStalled = new Counter({
      name: `${METRIC_PREFIX}sse_clients_stalled_total`,
      help: "SSE clients disconnected for not reading for STREAM_WRITE_TIMEOUT_SECONDS",
      registers: [registry],
    });
    new Gauge({
      name: `${METRIC_PREFIX}queue_jobs`,
      help: "Jobs in the queue by state, read at scrape time",
      labelNames: ["state"],
      registers: [registry],
      async collect() {
        const counts = await deps.queue.getJobCounts(...QUEUE_STATES);
        for (const state of QUEUE_STATES) this.set({ state }, counts[state] ?? 0);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}queue_oldest_job_age_seconds`,
      help: "Age of the oldest job still waiting for its first dispatch (0 when none)",
      registers: [registry],
      async collect() {
        const at = await oldestQueuedAt(deps.redis, deps.prefix);
        this.set(at === null ? 0 : Math.max(0, (Date.now() - at) / 1000));
      },
    });
  }

  /**
   * What the held connections hold, read at scrape time: each should return to its baseline when
   * clients leave, so a leak shows as a line that only goes up.
   */
  private registerStreamMetrics(registry: Registry, deps: { events: JobEventBus; streams: StreamSlots }) {
    new Gauge({
      name: `${METRIC_PREFIX}open_streams`,
      help: "Held connections on this api process: SSE streams and requests waiting for their job",
      labelNames: ["kind"],
      registers: [registry],
      collect() {
        const { sse, wait } = deps.streams.stats();
        this.set({ kind: "sse" }, sse);
        this.set({ kind: "wait" }, wait);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}stream_timers`,
      help: "Timers (heartbeats, sweeps, write timeouts) owned by open SSE streams",
      registers: [registry],
      collect() {
        this.set(deps.streams.stats().timers);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}stream_buffered_bytes`,
      help: "Bytes written to held connections that their sockets have not yet taken",
      registers: [registry],
      collect() {
        this.set(deps.streams.stats().bufferedBytes);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}job_event_listeners`,
      help: "Listeners on this process's job event bus: waiters (one timer each) and stream subscriptions",
      labelNames: ["type"],
      registers: [registry],
      collect() {
        const { waiters, subscribers } = deps.events.counts();
        this.set({ type: "waiter" }, waiters);
        this.set({ type: "subscriber" }, subscribers);
      },
    });
  }

  /** Times every request; the route label is the matched template, never the raw path (ids). */
  httpMiddleware(): RequestHandler {
    return (req, res, next) => {
      const end = this.httpDuration.startTimer();
      res.once("finish", () => {
        const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : "unmatched";
        end({ method: req.method, route, status_code: String(res.statusCode) });
      });
      next();
    };
  }

  router(token: string | undefined): Router {
    const router = Router();
    router.get("/metrics", async (req, res) => {
      if (!metricsAuthorized(token, req.get("authorization"))) {
        throw new GatewayError("unauthorized", "send the metrics token as `Authorization: Bearer <token>`");
      }
      res.set("Content-Type", this.registry.contentType).send(await this.registry.metrics());
    });
    return router;
  }
}
