import { describe, expect, it } from "vitest";
import type { HttpAnswer } from "./http-call";
import { upstreamHealth } from "./upstream-health";

function answer(status: number, body: unknown): HttpAnswer {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return {
    status,
    contentType: typeof body === "string" ? "text/plain" : "application/json",
    body: Buffer.from(text),
    upstreamUrl: "http://127.0.0.1:8003/health",
  };
}

describe("upstreamHealth", () => {
  it.each([
    [{ model_loaded: true }, true],
    [{ modelLoaded: false }, false],
    [{ loaded: true }, true],
    [{ model: { loaded: false } }, false],
    [{ model_status: "loaded" }, true],
    [{ model_status: "not_loaded" }, false],
    [{ status: "ok" }, null],
  ])("reads the model state from %j", (body, modelLoaded) => {
    expect(upstreamHealth(answer(200, body))).toEqual({ ok: true, modelLoaded, raw: body });
  });

  it.each([[{ status: "error" }], [{ ok: false }], [{ healthy: false }]])(
    "a 200 that reports trouble (%j) is not ok",
    (body) => {
      expect(upstreamHealth(answer(200, body)).ok).toBe(false);
    },
  );
});
