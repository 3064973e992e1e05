import type { UpstreamState } from "@zimage/core";
import { describe, expect, it } from "vitest";
import { checkAdmission } from "./upstream-admission";

const state = (name: string, patch: Partial<UpstreamState>): UpstreamState => ({
  name,
  url: null,
  up: true,
  model_loaded: null,
  busy: false,
  current_job: null,
  owner: "worker-1",
  lease_term: null,
  jobs_done: 0,
  last_job_at: null,
  last_unload_at: null,
  unloads: 0,
  last_error: null,
  checked_at: null,
  models: null,
  capabilities: null,
  loaded_pipeline: null,
  breaker: null,
  params: null,
  ...patch,
});
const bounded = (steps: [number, number]) => ({ defaults: {}, bounds: { num_inference_steps: steps } });
const job = (steps: number, defaulted: Array<"num_inference_steps" | "guidance_scale"> = []) => ({
  kind: "generate" as const,
  params: { prompt: "p", num_inference_steps: steps } as never,
  defaulted,
});

describe("checkAdmission bounds", () => {
  const cases: Array<[string, UpstreamState[], ReturnType<typeof job>, string | null]> = [
    [
      "within one upstream's bounds",
      [state("a", { params: bounded([8, 9]) }), state("b", { params: bounded([20, 50]) })],
      job(30),
      null,
    ],
    [
      "outside every upstream's bounds",
      [state("a", { params: bounded([8, 9]) }), state("b", { params: bounded([20, 50]) })],
      job(60),
      "param_out_of_range",
    ],
    [
      "outside, but one capable upstream has no bounds",
      [state("a", { params: bounded([8, 9]) }), state("b", {})],
      job(60),
      null,
    ],
    [
      "a value the submitter left out (the gateway's default)",
      [state("a", { params: bounded([8, 9]) })],
      job(50, ["num_inference_steps"]),
      null,
    ],
    [
      "an upstream that cannot run the kind does not lend its bounds",
      [
        state("a", { params: bounded([8, 9]) }),
        state("b", {
          params: bounded([1, 100]),
          capabilities: { generate: null, edit: "async" } as UpstreamState["capabilities"],
        }),
      ],
      job(50),
      "param_out_of_range",
    ],
  ];
  it.each(cases)("%s", (_what, upstreams, data, code) => {
    let got: string | null = null;
    try {
      checkAdmission(upstreams, data);
    } catch (err) {
      got = (err as { code: string }).code;
    }
    expect(got).toBe(code);
  });
});

describe("upstreams no worker serves", () => {
  it("are left out: a removed upstream that could edit does not keep edits admitted", () => {
    const gone = state("old-gpu", { owner: null, capabilities: null });
    const t2iOnly = state("gpu0", {
      capabilities: { generate: "sync", edit: null } as UpstreamState["capabilities"],
    });
    expect(() => checkAdmission([gone, t2iOnly], { kind: "edit", params: { prompt: "p" } as never })).toThrow(
      /no upstream offers edit/,
    );
    // With no served upstream at all, nothing is known: the job is accepted and waits.
    expect(() => checkAdmission([gone], { kind: "edit", params: { prompt: "p" } as never })).not.toThrow();
  });
});
