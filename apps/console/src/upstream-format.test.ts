import { describe, expect, it } from "vitest";
import type { UpstreamState } from "./types";
import { breakerText, modeText, paramsText, pipelineText } from "./upstream-format";

const caps = {
  generate: "sync",
  edit: "async",
  source: { generate: "discovered", edit: "pinned" },
} as NonNullable<UpstreamState["capabilities"]>;

describe("upstream cells of the admin screen", () => {
  it.each([
    [null, "generate", "not discovered yet"],
    [caps, "generate", "sync (discovered)"],
    [caps, "edit", "async (pinned)"],
    [{ ...caps, edit: null }, "edit", "none (pinned)"],
  ] as const)("mode %#: %s", (capabilities, kind, text) => {
    expect(modeText({ capabilities }, kind)).toBe(text);
  });

  it.each([
    ["generate", "text-to-image"],
    ["edit", "image-to-image"],
    ["all", "all (one model)"],
    ["none", "none"],
    [null, "unknown"],
  ] as const)("pipeline %s → %s", (loaded, text) => {
    expect(pipelineText(loaded)).toBe(text);
  });

  it("says the breaker's state, with failures so far or when it lets a probe through", () => {
    expect(breakerText(null)).toBe("closed");
    expect(breakerText({ state: "closed", consecutive_failures: 2, opened_at: null, retry_at: null })).toBe(
      "closed · 2 failures",
    );
    expect(
      breakerText({
        state: "open",
        consecutive_failures: 3,
        opened_at: null,
        retry_at: "2026-01-01T10:42:07Z",
      }),
    ).toMatch(/^open until \S/);
    expect(
      breakerText({ state: "half_open", consecutive_failures: 3, opened_at: null, retry_at: null }),
    ).toBe("half-open (probe job)");
  });

  it("shows the operator's defaults and bounds", () => {
    expect(paramsText(null)).toBe("gateway defaults");
    expect(paramsText({ defaults: {}, bounds: {} })).toBe("gateway defaults");
    expect(
      paramsText({
        defaults: { num_inference_steps: 8, guidance_scale: 0 },
        bounds: { num_inference_steps: [8, 9], guidance_scale: [0, 0] },
      }),
    ).toBe("steps 8 (8–9) · guidance 0 (only 0)");
    expect(paramsText({ defaults: {}, bounds: { num_inference_steps: [20, 50] } })).toBe("steps 20–50");
    expect(paramsText({ defaults: { guidance_scale: 3.5 }, bounds: {} })).toBe("guidance 3.5");
  });
});
