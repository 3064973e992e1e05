import type { JobData } from "@zimage/core";
import { describe, expect, it } from "vitest";
import { paramsForUpstream } from "./effective-params";

const generate = (params: Record<string, unknown>, defaulted?: JobData["defaulted"]): JobData => ({
  kind: "generate",
  owner: "u",
  params: { prompt: "p", size: "512x512", n: 1, ...params } as JobData["params"],
  ...(defaulted ? { defaulted } : {}),
});
const turbo = {
  defaults: { num_inference_steps: 8, guidance_scale: 0 },
  bounds: { num_inference_steps: [8, 9] as [number, number], guidance_scale: [0, 1] as [number, number] },
};

describe("paramsForUpstream", () => {
  it("gives a job the upstream's defaults for what its client left out", () => {
    const data = generate({ num_inference_steps: 50, guidance_scale: 4 }, [
      "num_inference_steps",
      "guidance_scale",
    ]);
    const { params, effective } = paramsForUpstream(data, turbo, "sync");
    expect(params).toMatchObject({ num_inference_steps: 8, guidance_scale: 0 });
    expect(effective).toMatchObject({ size: "512x512", n: 1, num_inference_steps: 8, guidance_scale: 0 });
  });

  it("keeps what the client gave within bounds, and clamps what is outside", () => {
    const data = generate({ num_inference_steps: 30, guidance_scale: 0.5 });
    const { params } = paramsForUpstream(data, turbo, "sync");
    expect(params).toMatchObject({ num_inference_steps: 9, guidance_scale: 0.5 });
  });

  it("changes nothing on an upstream without rules", () => {
    const data = generate({ num_inference_steps: 30, guidance_scale: 2 }, ["num_inference_steps"]);
    expect(paramsForUpstream(data, undefined, "sync").params).toEqual(data.params);
  });

  it("shows what the reference server's async edit really runs", () => {
    const data: JobData = {
      kind: "edit",
      owner: "u",
      params: { prompt: "p", n: 2, num_inference_steps: 20, guidance_scale: 1.5 } as JobData["params"],
    };
    expect(paramsForUpstream(data, undefined, "async").effective).toEqual({
      size: null,
      n: 2,
      num_inference_steps: 50,
      guidance_scale: 4,
    });
  });
});
