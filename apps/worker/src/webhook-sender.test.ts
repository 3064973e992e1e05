import { describe, expect, it } from "vitest";
import { retryDelayMs } from "./webhook-sender";

describe("retryDelayMs", () => {
  it("follows the schedule within ±20 % jitter, the same for the same delivery and attempt", () => {
    const schedule = [5, 30, 120];
    for (const [attempt, base] of [
      [1, 5_000],
      [2, 30_000],
      [3, 120_000],
      [9, 120_000],
    ] as const) {
      const d = retryDelayMs(schedule, attempt, "JOB-succeeded");
      expect(d).toBeGreaterThanOrEqual(base * 0.8);
      expect(d).toBeLessThanOrEqual(base * 1.2);
      expect(retryDelayMs(schedule, attempt, "JOB-succeeded")).toBe(d);
    }
    const spread = new Set(Array.from({ length: 20 }, (_, i) => retryDelayMs(schedule, 1, `job-${i}`)));
    expect(spread.size).toBeGreaterThan(10);
  });

  it("covers at least 24 hours with the default schedule", () => {
    const schedule = [5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200];
    const total = schedule.reduce((sum, _, i) => sum + retryDelayMs(schedule, i + 1, "x"), 0);
    expect(total).toBeGreaterThanOrEqual(24 * 3600 * 1000 * 0.8);
    expect(schedule.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(24 * 3600);
  });
});
