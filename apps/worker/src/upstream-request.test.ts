import { UpstreamHttpError, UpstreamModelLoadError } from "@zimage/zimage-client";
import { describe, expect, it } from "vitest";
import { asLoadFailure, healthSaysLoaded } from "./upstream-request";

const empty500 = () =>
  new UpstreamHttpError("500", {
    upstreamUrl: "http://gpu",
    status: 500,
    body: '{"detail":""}',
    emptyDetail: true,
  });

describe("asLoadFailure", () => {
  it("takes a 500 without detail as a load failure only while the pipeline was not loaded", () => {
    expect(asLoadFailure(empty500(), true)).toBeInstanceOf(UpstreamModelLoadError);
    expect(asLoadFailure(empty500(), false)).toBeNull();
  });
  it("keeps a typed load failure whatever the state, and never a 500 that says something", () => {
    const typed = new UpstreamModelLoadError("T2I Load Error: x", {
      upstreamUrl: "u",
      status: 500,
      body: "",
    });
    expect(asLoadFailure(typed, false)).toBe(typed);
    const said = new UpstreamHttpError("500", { upstreamUrl: "u", status: 500, body: '{"detail":"boom"}' });
    expect(asLoadFailure(said, true)).toBeNull();
  });
});

describe("healthSaysLoaded", () => {
  const health = (
    shape: "single" | "pipelines" | "unknown",
    modelLoaded: boolean | null,
    generate: boolean | null,
    edit: boolean | null,
  ) => ({
    ok: true,
    shape,
    modelLoaded,
    pipelines: { generate, edit },
    raw: {},
  });
  it("reads the job kind's own pipeline on a two-pipeline server", () => {
    expect(healthSaysLoaded(health("pipelines", true, false, true), "generate")).toBe(false);
    expect(healthSaysLoaded(health("pipelines", true, false, true), "edit")).toBe(true);
  });
  it("reads the one model of a single-model server, and no answer as cold", () => {
    expect(healthSaysLoaded(health("single", true, true, true), "edit")).toBe(true);
    expect(healthSaysLoaded(health("unknown", null, null, null), "generate")).toBe(false);
    expect(healthSaysLoaded(null, "generate")).toBe(false);
  });
});
