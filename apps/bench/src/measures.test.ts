import type { RequestRecord } from "@zimage/zimage-sim";
import { describe, expect, it } from "vitest";
import { gapsOf } from "./dispatch-overhead";
import { fmt, percentile, spread } from "./stats";

const rec = (path: string, startedAt: number, finishedAt: number): RequestRecord => ({
  id: 0,
  path,
  arrivedAt: startedAt,
  startedAt,
  finishedAt,
  status: 200,
  prompt: null,
  size: null,
});

describe("bench measures", () => {
  it("percentiles by nearest rank, and spreads as median (min–max)", () => {
    const v = [5, 1, 4, 2, 3, 10, 6, 7, 8, 9];
    expect([percentile(v, 50), percentile(v, 90), percentile(v, 99), percentile(v, 100)]).toEqual([
      5, 9, 10, 10,
    ]);
    expect(fmt(spread([3, 1, 2]), 1, " ms")).toBe("2.0 ms (1.0 ms–3.0 ms)");
    expect(fmt(spread([4]), 0)).toBe("4");
  });

  it("measures the GPU's idle gaps and busy share from image requests only, in start order", () => {
    const { gaps, busy, span } = gapsOf([
      rec("/v1/images/generations", 110, 210),
      rec("/v1/images/generations", 0, 100),
      rec("/v1/internal/unload", 100, 105),
      rec("/v1/images/edits", 212, 312),
    ]);
    expect(gaps).toEqual([10, 2]);
    expect(busy).toBe(300);
    expect(span).toBe(312);
  });
});
