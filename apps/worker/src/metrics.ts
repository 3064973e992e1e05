import { createMetricsRegistry, JOB_DURATION_BUCKETS, METRIC_PREFIX } from "@zimage/core";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export interface UpstreamGaugeSource {
  upstreamName: string;
  /** Null when this process does not hold the upstream's lease: then it reports nothing for it. */
  gaugeValues(): {
    up: boolean;
    busy: boolean;
    modelLoaded: boolean;
    inFlight: number;
    /** Which job kinds' pipelines are in VRAM (both, for a single-model server with its model loaded). */
    pipelines: { generate: boolean; edit: boolean };
    breakerOpen: boolean;
  } | null;
}

const OUTCOMES: Record<string, string> = {
  upstream_model_load_failed: "model_load_failed",
  upstream_out_of_memory: "out_of_memory",
  upstream_rejected: "rejected",
  upstream_timeout: "timeout",
  upstream_unavailable: "unavailable",
  upstream_error: "error",
  upstream_protocol_error: "protocol_error",
};

/** Maps a job error code to the `outcome` label of upstream requests (a bounded set). */
export const outcomeOf = (code: string) => OUTCOMES[code] ?? "error";

/** The worker's Prometheus series (docs/metrics.md). */
export class WorkerMetrics {
  readonly registry: Registry;
  readonly jobsCompleted: Counter<"kind" | "upstream">;
  readonly jobsFailed: Counter<"kind" | "upstream" | "reason">;
  readonly queueWait: Histogram<"kind">;
  readonly modelLoad: Histogram<"upstream">;
  readonly inference: Histogram<"kind" | "upstream">;
  readonly jobDuration: Histogram<"kind">;
  readonly upstreamRequests: Counter<"upstream" | "outcome">;
  readonly upstreamRetries: Counter<"upstream" | "reason">;
  readonly upstreamUnloads: Counter<"upstream">;
  readonly upstreamLoadFailures: Counter<"upstream">;
  readonly webhookDeliveries: Counter<"outcome">;
  readonly webhookAttempt: Histogram<never>;
  readonly gpuSeconds: Counter<"upstream" | "kind" | "phase">;
  readonly imagesProduced: Counter<"upstream" | "kind">;
  private readonly sources: UpstreamGaugeSource[] = [];

  constructor() {
    this.registry = createMetricsRegistry("worker");
    const registers = [this.registry];
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
      new Counter<L>({ name: `${METRIC_PREFIX}${name}`, help, labelNames, registers });
    const histogram = <L extends string>(name: string, help: string, labelNames: L[]) =>
      new Histogram<L>({
        name: `${METRIC_PREFIX}${name}`,
        help,
        labelNames,
        buckets: JOB_DURATION_BUCKETS,
        registers,
      });
    this.jobsCompleted = counter("jobs_completed_total", "Jobs that succeeded", ["kind", "upstream"]);
    this.jobsFailed = counter("jobs_failed_total", "Jobs that failed for good, by job error code", [
      "kind",
      "upstream",
      "reason",
    ]);
    this.queueWait = histogram("job_queue_wait_seconds", "Time from submit to first dispatch", ["kind"]);
    this.modelLoad = histogram("model_load_seconds", "Model load time seen during cold requests", [
      "upstream",
    ]);
    this.inference = histogram("inference_seconds", "Upstream request time minus model load", [
      "kind",
      "upstream",
    ]);
    this.jobDuration = histogram("job_duration_seconds", "Time from submit to success", ["kind"]);
    this.upstreamRequests = counter("upstream_requests_total", "Image requests to upstreams by outcome", [
      "upstream",
      "outcome",
    ]);
    this.upstreamRetries = counter("upstream_retries_total", "Attempts retried, by reason", [
      "upstream",
      "reason",
    ]);
    // Usage totals (issue #19): per upstream, never per API key (per-key usage is GET /v1/usage).
    this.gpuSeconds = counter(
      "gpu_seconds_total",
      "GPU time of dispatched jobs as the dispatcher measured it, model load and inference, whatever the outcome",
      ["upstream", "kind", "phase"],
    );
    this.imagesProduced = counter("images_total", "Images delivered by jobs that succeeded", [
      "upstream",
      "kind",
    ]);
    this.upstreamUnloads = counter("upstream_unloads_total", "Idle model unloads", ["upstream"]);
    this.webhookDeliveries = counter("webhook_deliveries_total", "Webhook delivery attempts by outcome", [
      "outcome",
    ]);
    this.webhookAttempt = new Histogram({
      name: `${METRIC_PREFIX}webhook_attempt_duration_seconds`,
      help: "Duration of one webhook delivery attempt",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.upstreamLoadFailures = counter(
      "upstream_load_failures_total",
      '500 "Model loading failed" answers',
      ["upstream"],
    );

    const sources = this.sources;
    const gauge = (
      name: string,
      help: string,
      pick: (v: NonNullable<ReturnType<UpstreamGaugeSource["gaugeValues"]>>) => number,
    ) =>
      new Gauge({
        name: `${METRIC_PREFIX}${name}`,
        help,
        labelNames: ["upstream"],
        registers,
        collect() {
          for (const s of sources) {
            const v = s.gaugeValues();
            if (v) this.set({ upstream: s.upstreamName }, pick(v));
            else this.remove({ upstream: s.upstreamName });
          }
        },
      });
    gauge("upstream_up", "1 when the upstream's last health probe answered", (v) => Number(v.up));
    gauge("upstream_busy", "1 while a request is in flight to the upstream", (v) => Number(v.busy));
    gauge("upstream_model_loaded", "1 when the upstream reports its model loaded", (v) =>
      Number(v.modelLoaded),
    );
    gauge("upstream_in_flight", "Image requests in flight to the upstream", (v) => v.inFlight);
    gauge("upstream_breaker_open", "1 while the upstream's circuit breaker keeps it out of rotation", (v) =>
      Number(v.breakerOpen),
    );
    new Gauge({
      name: `${METRIC_PREFIX}upstream_pipeline_loaded`,
      help: "1 when the upstream reports the pipeline of this job kind in VRAM",
      labelNames: ["upstream", "pipeline"],
      registers,
      collect() {
        for (const s of sources) {
          const v = s.gaugeValues();
          for (const pipeline of ["generate", "edit"] as const) {
            if (v) this.set({ upstream: s.upstreamName, pipeline }, Number(v.pipelines[pipeline]));
            else this.remove({ upstream: s.upstreamName, pipeline });
          }
        }
      },
    });
  }

  addUpstream(source: UpstreamGaugeSource): void {
    this.sources.push(source);
  }
}
