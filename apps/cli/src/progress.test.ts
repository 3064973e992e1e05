import type { Job } from "@zimage/sdk";
import { expect, it, describe as suite } from "vitest";
import { outputPath } from "./job-commands";
import { describe } from "./progress";

const job = (over: Partial<Job>): Job =>
  ({
    id: "01JOB",
    status: "queued",
    queue_position: null,
    phase: null,
    eta_seconds: null,
    upstream: null,
    ...over,
  }) as Job;

suite("progress line", () => {
  it("shows the queue position, then the phase and upstream, with ETA and elapsed time", () => {
    expect(describe(job({ queue_position: 3, eta_seconds: 95 }), 12_000)).toBe(
      "01JOB  queued · 2 ahead · eta 1:35 · 0:12",
    );
    expect(describe(job({ queue_position: 1 }), 0)).toBe("01JOB  queued · next in line · 0:00");
    expect(describe(job({ status: "running", phase: "loading", upstream: "gpu0" }), 61_000)).toBe(
      "01JOB  running · loading the model · on gpu0 · 1:01",
    );
    expect(describe(job({ status: "running", phase: null }), 0)).toBe("01JOB  running · starting · 0:00");
    expect(describe(job({ status: "succeeded", eta_seconds: 5 }), 75_000)).toBe("01JOB  succeeded · 1:15");
  });

  it("numbers the files of a job with several images", () => {
    const j = job({ id: "ID" });
    expect(outputPath(j, 0, 1, undefined)).toBe("ID.png");
    expect(outputPath(j, 1, 2, "out/cat.png")).toBe("out/cat-2.png");
    expect(outputPath(j, 0, 2, "cat")).toBe("cat-1.png");
  });
});
