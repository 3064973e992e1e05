import { z } from "zod";

/**
 * The parameters an upstream actually ran a job with (issue #15), which can differ from the request's:
 * the upstream's defaults replace the gateway's for fields the submitter left out, values outside an
 * upstream's bounds are clamped, and the reference server's async edit path fixes some of them itself
 * (50 steps, guidance 4, the input's size; n images come from n tasks). The worker records them in
 * the job's result; the job view shows them once the job has succeeded.
 */
export const effectiveParamsSchema = z
  .object({
    size: z.string(),
    n: z.number().int(),
    num_inference_steps: z.number().int(),
    guidance_scale: z.number(),
    negative_prompt: z.string().optional(),
    cfg_normalization: z.boolean().optional(),
  })
  .describe(
    "What the upstream actually ran: its defaults for fields the request left out, values clamped to its bounds, or what its edit path fixes (the reference server's async edits: 50 steps, guidance 4, the input's size). Null until the job has succeeded.",
  );
export type EffectiveParams = z.infer<typeof effectiveParamsSchema>;
