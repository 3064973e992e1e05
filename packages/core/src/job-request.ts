import { z } from "zod";

/**
 * Request schemas for jobs, following the Z-Image server's rules (shared/zimage-api.md): both sides of
 * `size` divisible by 32, n up to 4, and the upstream's own defaults for steps and guidance. We are a
 * little stricter than the upstream on bounds so a typo never books a GPU for an hour.
 */
export const SIZE_LIMITS = { min: 128, max: 2048, multiple: 32 } as const;
export const PROMPT_MAX_CHARS = 4000;
export const DEFAULTS = {
  size: "1024x1024",
  n: 1,
  steps: 50,
  generateGuidance: 4.0,
  editGuidance: 1.5,
} as const;

export function parseSize(size: string): { width: number; height: number } {
  const [w, h] = size.split("x").map(Number);
  return { width: w!, height: h! };
}

export const sizeSchema = z
  .string()
  .regex(/^\d{1,5}x\d{1,5}$/, 'must look like "WIDTHxHEIGHT", e.g. "1024x1024"')
  .refine((s) => {
    const { width, height } = parseSize(s);
    return [width, height].every((v) => v >= SIZE_LIMITS.min && v <= SIZE_LIMITS.max);
  }, `each side must be between ${SIZE_LIMITS.min} and ${SIZE_LIMITS.max} pixels`)
  .refine((s) => {
    const { width, height } = parseSize(s);
    return width % SIZE_LIMITS.multiple === 0 && height % SIZE_LIMITS.multiple === 0;
  }, `both sides must be divisible by ${SIZE_LIMITS.multiple}`);

const text = (max: number) =>
  z
    .string()
    .max(max, `at most ${max} characters`)
    // NUL bytes break the upstream's tokenizer and most logs; no legitimate prompt contains one.
    .refine((s) => !s.includes("\u0000"), "must not contain NUL characters");

const prompt = text(PROMPT_MAX_CHARS).refine((s) => s.trim().length > 0, "must not be empty");

const common = {
  prompt,
  negative_prompt: text(PROMPT_MAX_CHARS).optional(),
  n: z.number().int().min(1).max(4).default(DEFAULTS.n),
  num_inference_steps: z.number().int().min(1).max(100).default(DEFAULTS.steps),
  cfg_normalization: z.boolean().default(false),
  /** Passed through to the upstream; the real server may ignore it (the simulator honours it). */
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .optional(),
  /** Deliveries of this job's state changes (default: the final ones), signed per Standard Webhooks. */
  webhook: z
    .strictObject({
      url: z.string().min(1).max(2048),
      events: z
        .array(z.enum(["queued", "running", "succeeded", "failed", "canceled"]))
        .min(1)
        .default(["succeeded", "failed", "canceled"]),
    })
    .optional(),
  /** Used by the OpenAI-compatible facade; the native job view always links images by URL. */
  response_format: z.enum(["url", "b64_json"]).default("url"),
};

export const generateRequestSchema = z.strictObject({
  kind: z.literal("generate").optional(),
  ...common,
  size: sizeSchema.default(DEFAULTS.size),
  guidance_scale: z.number().min(0).max(20).default(DEFAULTS.generateGuidance),
});

/** Edit fields arrive as multipart text; `size` defaults to the input image's size upstream. */
export const editRequestSchema = z.strictObject({
  kind: z.literal("edit").optional(),
  ...common,
  size: sizeSchema.optional(),
  guidance_scale: z.number().min(0).max(20).default(DEFAULTS.editGuidance),
});

export type GenerateParams = z.infer<typeof generateRequestSchema>;
export type EditParams = z.infer<typeof editRequestSchema>;
export type JobParams = GenerateParams | EditParams;
export type JobKind = "generate" | "edit";

const NUMERIC_FIELDS = new Set(["n", "num_inference_steps", "guidance_scale", "seed"]);
const BOOLEAN_FIELDS = new Set(["cfg_normalization"]);

/**
 * Multipart fields are strings; convert the numeric and boolean ones so one schema validates both
 * JSON and form bodies. Anything unconvertible is left as is and rejected by the schema with a clear message.
 */
export function coerceFormFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (typeof value !== "string") {
      out[key] = value;
    } else if (NUMERIC_FIELDS.has(key) && value.trim() !== "" && Number.isFinite(Number(value))) {
      out[key] = Number(value);
    } else if (BOOLEAN_FIELDS.has(key) && (value === "true" || value === "false")) {
      out[key] = value === "true";
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** Flattens zod issues into `[{path, message}]` for the error body's `details`. */
export function describeIssues(error: z.ZodError): Array<{ path: string; message: string }> {
  return error.issues.map((i) => ({ path: i.path.join(".") || "(body)", message: i.message }));
}
