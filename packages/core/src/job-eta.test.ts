import { describe, expect, it } from "vitest";
import { loadAhead } from "./job-eta";
import type { UpstreamCapabilities, UpstreamState } from "./store/upstream-state";

const shape = (health_shape: UpstreamCapabilities["health_shape"]) =>
  ({
    generate: "sync",
    edit: health_shape === "pipelines" ? "async" : "sync",
    health_shape,
  }) as UpstreamCapabilities;

const up = (name: string, patch: Partial<UpstreamState>): UpstreamState =>
  ({
    name,
    up: true,
    model_loaded: true,
    capabilities: shape("single"),
    loaded_pipeline: "all",
    ...patch,
  }) as UpstreamState;

describe("loadAhead", () => {
  const cases: Array<[string, UpstreamState[], "generate" | "edit", boolean]> = [
    ["no upstream known", [], "edit", false],
    ["every upstream cold", [up("a", { model_loaded: false, loaded_pipeline: "none" })], "generate", true],
    ["a single-model server with its model loaded", [up("a", {})], "edit", false],
    [
      "a two-pipeline server with the job's pipeline loaded",
      [up("a", { capabilities: shape("pipelines"), loaded_pipeline: "edit" })],
      "edit",
      false,
    ],
    [
      "a two-pipeline server with the other pipeline loaded: a switch",
      [up("a", { capabilities: shape("pipelines"), loaded_pipeline: "generate" })],
      "edit",
      true,
    ],
    [
      "two upstreams, one of them has the job's pipeline loaded",
      [
        up("a", { capabilities: shape("pipelines"), loaded_pipeline: "generate" }),
        up("b", { capabilities: shape("pipelines"), loaded_pipeline: "edit" }),
      ],
      "edit",
      false,
    ],
    [
      "the only upstream with the job's pipeline loaded is down",
      [
        up("a", { capabilities: shape("pipelines"), loaded_pipeline: "generate" }),
        up("b", { up: false, capabilities: shape("pipelines"), loaded_pipeline: "edit" }),
      ],
      "edit",
      true,
    ],
    [
      "loaded pipeline unknown on a single-model server: no switch cost",
      [up("a", { loaded_pipeline: null })],
      "edit",
      false,
    ],
  ];
  it.each(cases)("%s → %s", (_what, upstreams, kind, expected) => {
    expect(loadAhead(upstreams, kind)).toBe(expected);
  });
});
