import { describe, expect, it } from "vitest";
import { encodeFailure } from "./job-failure";
import { type JobSnapshot, jobViewSchema } from "./job-view";
import { eventView, withImageUrls } from "./webhook-event-view";

const queued: JobSnapshot = {
  id: "01JABCDEFGHJKMNPQRSTVWXYZ0",
  data: { kind: "generate", owner: "u1", params: { prompt: "a cat", size: "512x512" } as never },
  state: "prioritized",
  timestamp: Date.UTC(2026, 0, 1, 0, 0, 0),
  attemptsMade: 0,
  progress: null,
  returnvalue: null,
};
const running: JobSnapshot = {
  ...queued,
  state: "active",
  processedOn: queued.timestamp + 1500,
  progress: { phase: "generating", upstream: "gpu0" },
};
const succeeded: JobSnapshot = {
  ...running,
  state: "completed",
  finishedOn: queued.timestamp + 4000,
  returnvalue: {
    images: [
      { key: "results/x/0.png", width: 512, height: 512, bytes: 10, sha256: "ab", revised_prompt: null },
    ],
    upstream: "gpu0",
    load_ms: 0,
    inference_ms: 2500,
  },
};

describe("eventView", () => {
  it("keeps a succeeded job's image metadata without URLs, and withImageUrls signs them afresh", () => {
    const kept = eventView(succeeded, "succeeded")!;
    expect(kept.result!.images[0]).toEqual({
      width: 512,
      height: 512,
      bytes: 10,
      sha256: "ab",
      revised_prompt: null,
    });
    const view = withImageUrls(kept, (id, i) => `http://gw/v1/jobs/${id}/images/${i}?sig=now`);
    expect(jobViewSchema.parse(view)).toEqual(view);
    expect(view.result!.images[0]!.url).toBe(`http://gw/v1/jobs/${queued.id}/images/0?sig=now`);
    expect(view).toMatchObject({ status: "succeeded", queue_position: null, eta_seconds: null });
  });

  it("says queued for job.queued when the dispatcher took the job before it was read", () => {
    const view = eventView(running, "queued")!;
    expect(view).toMatchObject({ status: "queued", started_at: null, phase: null, upstream: null });
    expect(view.timings.queued_ms).toBeNull();
  });

  it("says running for job.running when the owner canceled or the job ended before it was read", () => {
    for (const later of [{ ...running, cancelRequestedAt: running.processedOn! + 10 }, succeeded]) {
      const view = eventView(later, "running")!;
      expect(view).toMatchObject({
        status: "running",
        phase: "generating",
        completed_at: null,
        result: null,
      });
      expect(view.started_at).toBe(new Date(running.processedOn!).toISOString());
    }
  });

  it("keeps a final event as read", () => {
    const canceled: JobSnapshot = {
      ...running,
      state: "failed",
      finishedOn: running.processedOn! + 5,
      failedReason: encodeFailure({ code: "job_canceled", message: "canceled" }),
    };
    expect(eventView(canceled, "canceled")).toMatchObject({
      status: "canceled",
      error: { code: "job_canceled" },
    });
    expect(eventView(succeeded, "canceled")).toMatchObject({ status: "succeeded" });
  });
});
