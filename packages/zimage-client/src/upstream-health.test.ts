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
  ])("reads a single model's state from %j, for both pipelines", (body, loaded) => {
    expect(upstreamHealth(answer(200, body))).toEqual({
      ok: true,
      modelLoaded: loaded,
      pipelines: { generate: loaded, edit: loaded },
      shape: "single",
      raw: body,
    });
  });

  it("a body without model state is shape unknown, every flag null", () => {
    expect(upstreamHealth(answer(200, { status: "ok" }))).toEqual({
      ok: true,
      modelLoaded: null,
      pipelines: { generate: null, edit: null },
      shape: "unknown",
      raw: { status: "ok" },
    });
  });

  // The reference server's /health (shared/zimage-api.md): one flag per pipeline, no model_loaded.
  it.each([
    [{ t2i_loaded: true, edit_loaded: false }, { generate: true, edit: false }, true],
    [{ t2i_loaded: false, edit_loaded: true }, { generate: false, edit: true }, true],
    [{ t2i_loaded: false, edit_loaded: false }, { generate: false, edit: false }, false],
    [{ t2i_loaded: false }, { generate: false, edit: null }, null],
    [{ edit_loaded: true, t2i_loaded: "yes" }, { generate: null, edit: true }, true],
    // Per-pipeline flags are the more precise report when a server sends both kinds.
    [{ t2i_loaded: false, edit_loaded: true, model_loaded: false }, { generate: false, edit: true }, true],
  ])("reads per-pipeline flags from %j", (flags, pipelines, modelLoaded) => {
    const body = {
      status: "ok",
      t2i_model: "Tongyi-MAI/Z-Image",
      edit_model: "Tongyi-MAI/Z-Image-Edit",
      ...flags,
    };
    expect(upstreamHealth(answer(200, body))).toEqual({
      ok: true,
      modelLoaded,
      pipelines,
      shape: "pipelines",
      raw: body,
    });
  });

  it.each([[{ status: "error" }], [{ ok: false }], [{ healthy: false }]])(
    "a 200 that reports trouble (%j) is not ok",
    (body) => {
      expect(upstreamHealth(answer(200, body)).ok).toBe(false);
    },
  );
});
