import type { CircuitBreakerState } from "@zimage/core";
import { describe, expect, it } from "vitest";
import { CircuitBreaker, isUpstreamFault } from "./circuit-breaker";

function breaker(failures = 3, cooldownMs = 1_000) {
  let now = 1_000_000;
  const changes: Array<[CircuitBreakerState["state"], string]> = [];
  const b = new CircuitBreaker({
    failures,
    cooldownMs,
    now: () => now,
    onChange: (s, reason) => changes.push([s.state, reason]),
  });
  return { b, changes, advance: (ms: number) => (now += ms) };
}

describe("CircuitBreaker", () => {
  it("opens after N consecutive failures, not before", () => {
    const { b, changes } = breaker(3);
    b.failure("upstream_error");
    b.failure("upstream_error");
    expect(b.allow()).toBe(true);
    expect(b.current.state).toBe("closed");
    b.failure("upstream_model_load_failed");
    expect(b.current).toMatchObject({ state: "open", consecutive_failures: 3 });
    expect(b.allow()).toBe(false);
    expect(changes).toEqual([["open", "3 consecutive failed attempts (last: upstream_model_load_failed)"]]);
  });

  it("a success in between starts the count again", () => {
    const { b } = breaker(2);
    b.failure("upstream_error");
    b.success();
    b.failure("upstream_error");
    expect(b.current.state).toBe("closed");
  });

  it("lets one probe through after the cool-down; success closes, failure reopens", () => {
    const { b, advance } = breaker(1, 1_000);
    b.failure("upstream_error");
    expect(b.allow()).toBe(false);
    expect(b.waitMs()).toBe(1_000);
    advance(999);
    expect(b.allow()).toBe(false);
    advance(1);
    expect(b.allow()).toBe(true);
    expect(b.current.state).toBe("half_open");
    b.failure("upstream_error");
    expect(b.current.state).toBe("open");
    expect(b.allow()).toBe(false);
    advance(1_000);
    expect(b.allow()).toBe(true);
    b.success();
    expect(b.current).toEqual({ state: "closed", consecutive_failures: 0, opened_at: null, retry_at: null });
  });

  it("never opens with failures = 0", () => {
    const { b } = breaker(0);
    for (let i = 0; i < 50; i++) b.failure("upstream_error");
    expect(b.allow()).toBe(true);
  });

  it("counts only the upstream's faults", () => {
    expect(
      ["upstream_error", "upstream_unavailable", "upstream_model_load_failed"].every(isUpstreamFault),
    ).toBe(true);
    expect(
      ["upstream_rejected", "upstream_out_of_memory", "canceled", "internal_error"].some(isUpstreamFault),
    ).toBe(false);
  });
});

describe("CircuitBreaker.restore", () => {
  it("resumes a predecessor's open breaker until its retry time, and keeps a closed one's count", () => {
    const { b, advance } = breaker(3, 1_000);
    b.restore({
      state: "open",
      consecutive_failures: 3,
      opened_at: new Date(1_000_000).toISOString(),
      retry_at: new Date(1_000_500).toISOString(),
    });
    expect(b.allow()).toBe(false);
    advance(500);
    expect(b.allow()).toBe(true);
    expect(b.current.state).toBe("half_open");

    const fresh = breaker(3).b;
    fresh.restore({ state: "closed", consecutive_failures: 2, opened_at: null, retry_at: null });
    fresh.failure("upstream_error");
    expect(fresh.current.state).toBe("open");
  });
});
