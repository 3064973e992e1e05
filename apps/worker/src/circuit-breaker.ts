import type { CircuitBreakerState } from "@zimage/core";

export interface CircuitBreakerOptions {
  /** Consecutive failed attempts that open the breaker; 0 turns it off. */
  failures: number;
  cooldownMs: number;
  /** Called on every change of state, to publish it (upstream state, metrics, logs). */
  onChange?: (state: CircuitBreakerState, reason: string) => void;
  now?: () => number;
}

/**
 * Takes a failing upstream out of rotation (issue #15): after N consecutive failed attempts that
 * were the upstream's fault, its dispatcher stops fetching, so queued jobs wait or go to a healthy
 * upstream instead of each burning its attempts on a broken GPU. After the cool-down one job is let
 * through as a probe (half-open): success closes the breaker, failure opens it again.
 *
 * Hand-written rather than a library (opossum & co.) because what is guarded is not a function call
 * but the dispatcher's decision to fetch a job, and its state must be visible cluster-wide.
 */
export class CircuitBreaker {
  private state: CircuitBreakerState = {
    state: "closed",
    consecutive_failures: 0,
    opened_at: null,
    retry_at: null,
  };
  private reopenAt = 0;
  private readonly now: () => number;

  constructor(private readonly opts: CircuitBreakerOptions) {
    this.now = opts.now ?? Date.now;
  }

  get current(): Readonly<CircuitBreakerState> {
    return this.state;
  }

  /**
   * Takes over the state a previous lease holder published, so a take-over (a deploy, a crash) does
   * not give a broken upstream N fresh attempts. A half-open state resumes as open with the probe due.
   */
  restore(saved: CircuitBreakerState | null): void {
    if (!saved || saved.state === "closed") {
      this.state = { ...this.state, consecutive_failures: saved?.consecutive_failures ?? 0 };
      return;
    }
    const retryAt = saved.retry_at ? Date.parse(saved.retry_at) : Number.NaN;
    this.reopenAt = Number.isFinite(retryAt) ? retryAt : this.now();
    this.state = { ...saved, state: "open" };
  }

  /** May the dispatcher take a job now? Moves an open breaker past its cool-down to half-open. */
  allow(): boolean {
    if (this.state.state !== "open") return true;
    if (this.now() < this.reopenAt) return false;
    this.set({ ...this.state, state: "half_open" }, "cool-down over: one probe job");
    return true;
  }

  /** Milliseconds until an open breaker lets a probe through (0 when it would now). */
  waitMs(): number {
    return this.state.state === "open" ? Math.max(0, this.reopenAt - this.now()) : 0;
  }

  success(): void {
    if (this.state.state === "closed" && this.state.consecutive_failures === 0) return;
    const was = this.state.state;
    this.set(
      { state: "closed", consecutive_failures: 0, opened_at: null, retry_at: null },
      was === "closed" ? "attempt succeeded" : "probe job succeeded",
    );
  }

  /** An attempt failed with this job error code; only the upstream's faults count. */
  failureOf(code: string): void {
    if (isUpstreamFault(code)) this.failure(code);
  }

  failure(code: string): void {
    const failures = this.state.consecutive_failures + 1;
    const open =
      this.opts.failures > 0 && (this.state.state === "half_open" || failures >= this.opts.failures);
    if (!open) {
      this.state = { ...this.state, consecutive_failures: failures };
      return;
    }
    const now = this.now();
    this.reopenAt = now + this.opts.cooldownMs;
    this.set(
      {
        state: "open",
        consecutive_failures: failures,
        opened_at: new Date(now).toISOString(),
        retry_at: new Date(this.reopenAt).toISOString(),
      },
      `${failures} consecutive failed attempts (last: ${code})`,
    );
  }

  private set(state: CircuitBreakerState, reason: string): void {
    this.state = state;
    this.opts.onChange?.(state, reason);
  }
}

/**
 * Failures that say the upstream is broken. A client's mistake (4xx), an image too large for the
 * GPU (OOM) or a cancel says nothing about the GPU's health.
 */
const UPSTREAM_FAULTS = new Set([
  "upstream_unavailable",
  "upstream_error",
  "upstream_model_load_failed",
  "upstream_protocol_error",
  "upstream_timeout",
]);

export const isUpstreamFault = (code: string): boolean => UPSTREAM_FAULTS.has(code);
