import { decodeFailure, GatewayError } from "@zimage/core";
import {
  UpstreamConnectionError,
  UpstreamHttpError,
  UpstreamModelLoadError,
  UpstreamOutOfMemoryError,
  UpstreamTimeoutError,
} from "@zimage/zimage-client";
import { UnrecoverableError } from "bullmq";
import { describe, expect, it } from "vitest";
import { mapUpstreamFailure, toJobError } from "./job-failure-mapping";
import { waitUntilIdle } from "./upstream-idle-wait";

const at = { upstreamUrl: "http://gpu0:8003/v1/images/generations" };

describe("mapUpstreamFailure", () => {
  it("retries a model load failure and a lost connection", () => {
    const load = mapUpstreamFailure(
      new UpstreamModelLoadError("Model loading failed", {
        ...at,
        status: 500,
        body: '{"detail":"Model loading failed"}',
      }),
      "1024x1024",
    );
    expect(load).toMatchObject({
      retryable: true,
      failure: { code: "upstream_model_load_failed", details: { status: 500 } },
    });
    const conn = mapUpstreamFailure(
      new UpstreamConnectionError("connection refused", "ECONNREFUSED", at),
      undefined,
    );
    expect(conn).toMatchObject({ retryable: true, failure: { code: "upstream_unavailable" } });
  });

  it("fails at once on a 4xx, keeping the upstream's message and body", () => {
    const mapped = mapUpstreamFailure(
      new UpstreamHttpError("prompt is too long", {
        ...at,
        status: 422,
        body: '{"detail":"prompt is too long"}',
      }),
      undefined,
    );
    expect(mapped.retryable).toBe(false);
    expect(mapped.failure).toEqual({
      code: "upstream_rejected",
      message: "prompt is too long",
      details: { status: 422, body: '{"detail":"prompt is too long"}' },
    });
  });

  it("fails on out-of-memory with advice to use a smaller size", () => {
    const mapped = mapUpstreamFailure(
      new UpstreamOutOfMemoryError("CUDA out of memory", { ...at, status: 500, body: "CUDA out of memory" }),
      "2048x2048",
    );
    expect(mapped.retryable).toBe(false);
    expect(mapped.failure.code).toBe("upstream_out_of_memory");
    expect(mapped.failure.message).toMatch(/2048x2048.*smaller size/);
  });

  it("does not retry a timeout: the GPU already spent the whole allowance", () => {
    const mapped = mapUpstreamFailure(
      new UpstreamTimeoutError("no answer within 600000 ms", 600_000, at),
      undefined,
    );
    expect(mapped).toMatchObject({ retryable: false, failure: { code: "upstream_timeout" } });
  });

  it("treats an unusable image from the upstream as a protocol error", () => {
    const mapped = mapUpstreamFailure(new GatewayError("invalid_image", "the PNG is truncated"), undefined);
    expect(mapped).toMatchObject({ retryable: true, failure: { code: "upstream_protocol_error" } });
  });

  it("keeps an upstream that stays busy past the pre-flight wait unavailable, so it is retried and marked down", async () => {
    const busy = { status: async () => ({ busy: true }) } as unknown as Parameters<typeof waitUntilIdle>[0];
    const err = await waitUntilIdle(busy, { intervalMs: 5, timeoutMs: 1 }).catch((e: unknown) => e);
    expect(mapUpstreamFailure(err, undefined)).toMatchObject({
      retryable: true,
      failure: { code: "upstream_unavailable", message: expect.stringMatching(/still generating/) },
    });
  });
});

describe("toJobError", () => {
  it("makes final failures unrecoverable for BullMQ and keeps the failure decodable", () => {
    const final = toJobError({ retryable: false, failure: { code: "upstream_timeout", message: "slow" } });
    expect(final).toBeInstanceOf(UnrecoverableError);
    expect(decodeFailure(final.message)).toEqual({ code: "upstream_timeout", message: "slow" });
    const again = toJobError({ retryable: true, failure: { code: "upstream_unavailable", message: "down" } });
    expect(again).not.toBeInstanceOf(UnrecoverableError);
  });
});
