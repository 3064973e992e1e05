import { describe, expect, it } from "vitest";
import { GpuMeter, gpuBoundMs } from "./gpu-meter";

describe("GpuMeter", () => {
  it("adds every request of a dispatch, split into load and inference", () => {
    const meter = new GpuMeter();
    meter.add(4_000, 4_000); // a model load that failed: all of it was loading
    meter.add(1_500, 3_500); // the retry: loaded after 1.5 s, then 2 s of inference
    expect({ load: meter.loadMs, inference: meter.inferenceMs, total: meter.totalMs }).toEqual({
      load: 5_500,
      inference: 2_000,
      total: 7_500,
    });
  });

  it("never counts more load than the request took", () => {
    const meter = new GpuMeter();
    meter.add(900, 600);
    expect([meter.loadMs, meter.inferenceMs]).toEqual([600, 0]);
  });

  it("bounds one dispatch by its timeouts, every model-load attempt included", () => {
    const t = {
      imageTimeoutMs: 600_000,
      coldImageTimeoutMs: 1_800_000,
      pollIntervalMs: 500,
      modelLoadRetries: 3,
      modelLoadRetryMs: 10_000,
    };
    expect(gpuBoundMs(t)).toBe(4 * 1_801_000);
  });
});
