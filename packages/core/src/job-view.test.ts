import { describe, expect, it } from "vitest";
import { encodeFailure } from "./job-failure";
import { buildJobView, type JobSnapshot, jobViewSchema } from "./job-view";

const base: JobSnapshot = {
  id: "01JABCDEFGHJKMNPQRSTVWXYZ0",
  data: { kind: "generate", owner: "u1", params: { prompt: "a cat", size: "512x512" } as never },
  state: "waiting",
  timestamp: Date.UTC(2026, 0, 1, 0, 0, 0),
  attemptsMade: 0,
  progress: 0,
  returnvalue: null,
};
const ctx = {
  imageUrl: (id: string, i: number) => `http://gw/v1/jobs/${id}/images/${i}`,
  queuePosition: 3,
  etaSeconds: 90,
};

describe("buildJobView", () => {
  it("shows a queued job with its position and no result", () => {
    const view = buildJobView(base, ctx)!;
    expect(jobViewSchema.parse(view)).toEqual(view);
    expect(view).toMatchObject({
      status: "queued",
      queue_position: 3,
      eta_seconds: 90,
      phase: null,
      result: null,
    });
    expect(view.created_at).toBe("2026-01-01T00:00:00.000Z");
  });

  it("shows a running job's phase and upstream", () => {
    const view = buildJobView(
      {
        ...base,
        state: "active",
        processedOn: base.timestamp + 1500,
        progress: { phase: "loading", upstream: "gpu0" },
      },
      ctx,
    )!;
    expect(view).toMatchObject({
      status: "running",
      phase: "loading",
      upstream: "gpu0",
      queue_position: null,
    });
    expect(view.timings.queued_ms).toBe(1500);
  });

  it("links a succeeded job's images and reports timings", () => {
    const view = buildJobView(
      {
        ...base,
        state: "completed",
        processedOn: base.timestamp + 100,
        finishedOn: base.timestamp + 5100,
        returnvalue: {
          upstream: "gpu0",
          load_ms: 3000,
          inference_ms: 1900,
          images: [
            {
              key: "results/x/0.png",
              width: 512,
              height: 512,
              bytes: 10,
              sha256: "ab",
              revised_prompt: "a cat",
            },
          ],
        },
      },
      ctx,
    )!;
    expect(view.result?.images[0]?.url).toBe(`http://gw/v1/jobs/${base.id}/images/0`);
    expect(view.timings).toEqual({ queued_ms: 100, load_ms: 3000, inference_ms: 1900, total_ms: 5100 });
    expect(view.error).toBeNull();
  });

  it("shows the effective parameters of a succeeded job, and null before it has succeeded", () => {
    const effective = { size: "768x512", n: 2, num_inference_steps: 50, guidance_scale: 4 };
    const done: JobSnapshot = {
      ...base,
      state: "completed",
      processedOn: base.timestamp + 100,
      finishedOn: base.timestamp + 5100,
      returnvalue: {
        upstream: "gpu0",
        load_ms: 0,
        inference_ms: 1900,
        images: [],
        effective_params: effective,
      },
    };
    const view = buildJobView(done, ctx)!;
    expect(jobViewSchema.parse(view)).toEqual(view);
    expect(view.effective_params).toEqual(effective);
    // A result recorded before effective_params existed reads null, like a job still running.
    const { effective_params: _e, ...older } = done.returnvalue!;
    expect(buildJobView({ ...done, returnvalue: older }, ctx)!.effective_params).toBeNull();
    const running = buildJobView({ ...done, state: "active", finishedOn: undefined }, ctx)!;
    expect(running.effective_params).toBeNull();
    expect(buildJobView(base, ctx)!.effective_params).toBeNull();
  });

  it("decodes a structured failure and tells cancellation apart", () => {
    const failed = buildJobView(
      {
        ...base,
        state: "failed",
        finishedOn: base.timestamp + 10,
        failedReason: encodeFailure({ code: "upstream_out_of_memory", message: "try 512x512" }),
      },
      ctx,
    )!;
    expect(failed.status).toBe("failed");
    expect(failed.error).toEqual({ code: "upstream_out_of_memory", message: "try 512x512" });
    const canceled = buildJobView(
      {
        ...base,
        state: "failed",
        failedReason: encodeFailure({ code: "job_canceled", message: "canceled" }),
      },
      ctx,
    )!;
    expect(canceled.status).toBe("canceled");
    const stalled = buildJobView(
      { ...base, state: "failed", failedReason: "job stalled more than allowable limit" },
      ctx,
    )!;
    expect(stalled.error?.code).toBe("internal_error");
  });

  it("returns null for a job BullMQ no longer knows", () => {
    expect(buildJobView({ ...base, state: "unknown" }, ctx)).toBeNull();
  });
});
