import {
  DEFAULTS,
  type EffectiveParams,
  type JobData,
  type JobParams,
  type UpstreamModes,
  type UpstreamParamRules,
} from "@zimage/core";

/** What the upstream was asked to use; `size` is filled in from the first image it returned. */
export type PlannedParams = Omit<EffectiveParams, "size"> & { size: string | null };

/**
 * The reference server's async edit takes only the image and the prompt; it runs 50 steps at
 * guidance 4, at the input's size, one image per task (shared/zimage-api.md, "The public reference
 * server"). The gateway runs `n` tasks for `n` images and shows these as the effective values.
 */
export const ASYNC_EDIT_FIXED = { num_inference_steps: 50, guidance_scale: 4 } as const;

type Tunable = "num_inference_steps" | "guidance_scale";
const TUNABLE: Tunable[] = ["num_inference_steps", "guidance_scale"];

/**
 * The parameters sent to this upstream and what it will effectively use: the operator's per-upstream
 * defaults replace the gateway's for values the client did not give (`JobData.defaulted`), and values
 * outside the upstream's bounds are clamped to them (e.g. Turbo: 8-9 steps, guidance 0).
 */
export function paramsForUpstream(
  data: JobData,
  rules: UpstreamParamRules | undefined,
  mode: UpstreamModes[keyof UpstreamModes],
): { params: JobParams; effective: PlannedParams } {
  const params: JobParams = { ...data.params };
  const defaulted = new Set(data.defaulted ?? []);
  for (const key of TUNABLE) {
    const fallback = rules?.defaults[key];
    if (fallback !== undefined && (defaulted.has(key) || params[key] === undefined)) params[key] = fallback;
    const range = rules?.bounds[key];
    const value = params[key];
    if (range && value !== undefined) params[key] = Math.min(range[1], Math.max(range[0], value));
  }
  if (data.kind === "edit" && mode === "async") {
    return {
      params,
      effective: { size: null, n: params.n ?? 1, ...ASYNC_EDIT_FIXED },
    };
  }
  return {
    params,
    effective: {
      size: params.size ?? null,
      n: params.n ?? 1,
      num_inference_steps: params.num_inference_steps ?? DEFAULTS.steps,
      guidance_scale:
        params.guidance_scale ?? (data.kind === "edit" ? DEFAULTS.editGuidance : DEFAULTS.generateGuidance),
      ...(params.negative_prompt ? { negative_prompt: params.negative_prompt } : {}),
      ...(params.cfg_normalization !== undefined ? { cfg_normalization: params.cfg_normalization } : {}),
    },
  };
}
