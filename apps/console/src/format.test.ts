import { describe, expect, it } from "vitest";
import { clock, progressOf, SIZE_PRESETS, standing } from "./format";
import type { JobView } from "./types";

const job = (over: Partial<JobView>): JobView =>
  ({
    id: "01J",
    object: "image.job",
    kind: "generate",
    status: "queued",
    phase: null,
    created_at: "2026-11-25T10:00:00.000Z",
    started_at: null,
    completed_at: null,
    queue_position: null,
    eta_seconds: null,
    upstream: null,
    attempts: 0,
    params: {},
    result: null,
    error: null,
    timings: { queued_ms: null, load_ms: null, inference_ms: null, total_ms: null },
    ...over,
  }) as JobView;

describe("console formatting", () => {
  it("clock", () => {
    expect(clock(0)).toBe("0:00");
    expect(clock(75.9)).toBe("1:15");
    expect(clock(3700)).toBe("1:01:40");
  });

  it("every size preset is one the API accepts (divisible by 32)", () => {
    for (const { value } of SIZE_PRESETS) {
      const [w, h] = value.split("x").map(Number);
      expect(w! % 32, value).toBe(0);
      expect(h! % 32, value).toBe(0);
    }
  });

  it("progress is indeterminate without an estimate and never claims done before the end", () => {
    const now = Date.parse("2026-11-25T10:01:00.000Z");
    expect(progressOf(job({ status: "queued" }), now)).toBeNull();
    expect(progressOf(job({ status: "running", started_at: "2026-11-25T10:00:30.000Z" }), now)).toBeNull();
    expect(
      progressOf(job({ status: "running", started_at: "2026-11-25T10:00:30.000Z", eta_seconds: 30 }), now),
    ).toBeCloseTo(0.5);
    expect(
      progressOf(job({ status: "running", started_at: "2026-11-25T10:00:00.000Z", eta_seconds: 0 }), now),
    ).toBe(0.99);
    expect(progressOf(job({ status: "failed" }), now)).toBe(1);
  });

  it("standing says where a job is", () => {
    expect(standing(job({ queue_position: 2, eta_seconds: 100 }))).toBe("#2 in queue · starts in about 1:40");
    expect(standing(job({ status: "running", phase: "loading", upstream: "gpu0" }))).toBe(
      "loading the model · on gpu0",
    );
  });
});
