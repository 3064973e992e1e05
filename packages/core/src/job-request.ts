import { z } from "zod";

/**
 * Request schemas for jobs, following the Z-Image server's rules (shared/zimage-api.md): both sides of
 * `size` divisible by 32, n up to 4, and the upstream's own defaults for steps and guidance. We are a
 * little stricter than the upstream on bounds so a typo never books a GPU for an hour.
 */
export const SIZE_LIMITS = { min: 128, max: 2048, multiple: 32 } as const;
export const PROMPT_MAX_CHARS = 4000;
export const PRIORITY_CLASSES = ["interactive", "batch"] as const;
export type PriorityClass = (typeof PRIORITY_CLASSES)[number];
/** A deadline further than 30 days out is a mistake (a timestamp sent as seconds), not a plan. */
export const MAX_CANCEL_AFTER_SECONDS = 30 * 86_400;
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
  // Digits without leading zeros: "0512x0512" means nothing an upstream parses the same way.
  .regex(/^[1-9]\d{0,4}x[1-9]\d{0,4}$/, 'must look like "WIDTHxHEIGHT", e.g. "1024x1024"')
  .refine((s) => {
    const { width, height } = parseSize(s);
    return [width, height].every((v) => v >= SIZE_LIMITS.min && v <= SIZE_LIMITS.max);
  }, `each side must be between ${SIZE_LIMITS.min} and ${SIZE_LIMITS.max} pixels`)
  .refine((s) => {
    const { width, height } = parseSize(s);
    return width % SIZE_LIMITS.multiple === 0 && height % SIZE_LIMITS.multiple === 0;
  }, `both sides must be divisible by ${SIZE_LIMITS.multiple}`);

/**
 * A lone surrogate cannot be encoded as UTF-8: strict JSON parsers (Go, Rust's serde, Python with
 * strict decoding) refuse every listing that carries one, so one bad prompt would break them for all.
 * U+FFFD is what a decoder puts in place of bytes that were not UTF-8 (busboy and body-parser do so
 * for multipart fields and JSON bodies): refusing it refuses mis-encoded text on every transport.
 */
const MALFORMED_UNICODE = /[\p{Surrogate}\uFFFD]/u;
/**
 * Characters that show nothing: every Unicode space (U+3000 ideographic space, no-break spaces) and
 * the default-ignorable ones (zero-width space and joiners U+200B-U+200D, word joiner U+2060, BOM
 * U+FEFF, U+180E). A prompt of only these is empty to a person and to the upstream's tokenizer.
 */
/** No lone surrogates, no U+FFFD, no NUL: text every strict JSON client of a listing can read. */
export const isWellFormedText = (s: string): boolean => !s.includes("\u0000") && !MALFORMED_UNICODE.test(s);
export const WELL_FORMED_MESSAGE =
  "must be well-formed Unicode sent as UTF-8 (no lone surrogates, no U+FFFD replacement characters, no NUL)";

const INVISIBLE_ONLY = /^[\p{White_Space}\p{Default_Ignorable_Code_Point}]*$/u;

const text = (max: number) =>
  z
    .string()
    .max(max, `at most ${max} characters`)
    // NUL bytes break the upstream's tokenizer and most logs; no legitimate prompt contains one.
    .refine((s) => !s.includes("\u0000"), "must not contain NUL characters")
    .refine(
      (s) => !MALFORMED_UNICODE.test(s),
      "must be well-formed Unicode sent as UTF-8 (no lone surrogates, no U+FFFD replacement characters)",
    );

const prompt = text(PROMPT_MAX_CHARS).refine((s) => !INVISIBLE_ONLY.test(s), "must not be empty");

/** A number; the message says what a multipart field must look like (see PLAIN_DECIMAL). */
const number = () =>
  z.number({
    error: (issue) =>
      issue.code === "invalid_type" && issue.input !== undefined && typeof issue.input !== "number"
        ? "must be a number (in a form field: plain decimal, e.g. 2 or 2.5)"
        : undefined,
  });

/**
 * A whole number in [min, max], with messages a person reads as they are ("must be at most 100"),
 * not zod's defaults ("Too big: expected number to be <=100"); clients put the field's name first.
 */
const wholeNumber = (min: number, max: number) =>
  number()
    .int("must be a whole number")
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);
/** A decimal number in [min, max], with the same kind of messages as wholeNumber. */
const decimal = (min: number, max: number) =>
  number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);

const common = {
  prompt: prompt.describe(
    "1-4000 characters of well-formed Unicode (no lone surrogates, no U+FFFD, no NUL); not only spaces or invisible characters",
  ),
  negative_prompt: text(PROMPT_MAX_CHARS).optional(),
  n: wholeNumber(1, 4).default(DEFAULTS.n),
  num_inference_steps: wholeNumber(1, 100).default(DEFAULTS.steps),
  cfg_normalization: z.boolean().default(false),
  /** Passed through to the upstream; the real server may ignore it (the simulator honours it). */
  seed: wholeNumber(0, 2 ** 32 - 1).optional(),
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
  /**
   * The job's priority class (issue #19): interactive jobs are dispatched ahead of batch jobs; fair
   * share applies within a class. Default: interactive for a single job, batch in a batch.
   */
  priority: z.enum(PRIORITY_CLASSES).optional(),
  /**
   * The job's deadline (issue #19): seconds from submit, or an ISO 8601 timestamp with an offset. A
   * job not finished by then ends `canceled` with the error code `deadline_exceeded`.
   */
  cancel_after: z
    .union([number().positive().max(MAX_CANCEL_AFTER_SECONDS), z.iso.datetime({ offset: true })])
    .optional(),
};

export const generateRequestSchema = z.strictObject({
  kind: z.literal("generate").optional(),
  ...common,
  size: sizeSchema.default(DEFAULTS.size),
  guidance_scale: decimal(0, 20).default(DEFAULTS.generateGuidance),
});

/** Edit fields arrive as multipart text; without `size` the submit fills in `fitEditSize` of the input. */
export const editRequestSchema = z.strictObject({
  kind: z.literal("edit").optional(),
  ...common,
  size: sizeSchema
    .optional()
    .describe(
      "Default: the input image's size fitted to these bounds keeping its aspect ratio (scaled down to 2048 or up to 128 on a side, each side rounded down to a multiple of 32: 4032x3024 → 2048x1536, 1000x1000 → 992x992); refused when the input is more elongated than 16:1. The job's params show the size chosen. An upstream whose edits are asynchronous (the reference server) ignores size and renders at the input's own size.",
    ),
  guidance_scale: decimal(0, 20).default(DEFAULTS.editGuidance),
});

export type GenerateParams = z.infer<typeof generateRequestSchema>;
export type EditParams = z.infer<typeof editRequestSchema>;
export type JobParams = GenerateParams | EditParams;
export type JobKind = "generate" | "edit";

const NUMERIC_FIELDS = new Set(["n", "num_inference_steps", "guidance_scale", "seed"]);
/** `cancel_after` is a number of seconds or a timestamp: a plain decimal form field is the number. */
const NUMBER_OR_TEXT_FIELDS = new Set(["cancel_after"]);
const BOOLEAN_FIELDS = new Set(["cfg_normalization"]);
/**
 * A multipart number is a plain decimal: JSON's number grammar without the exponent (optional minus,
 * no leading zeros, optional fraction). `Number()` would also take "0x2", "1e0", " 2", "+2" and ""
 * (as 0); none is what a form field holding a count means, so they are refused rather than guessed.
 * "2.0" is the JSON number 2.0, so it is n=2 here too.
 */
export const PLAIN_DECIMAL = /^-?(0|[1-9]\d*)(\.\d+)?$/;

/**
 * Multipart fields are strings; convert the numeric and boolean ones so one schema validates both
 * JSON and form bodies. Anything unconvertible is left as is and rejected by the schema with a clear
 * message. Built with `Object.fromEntries` so a field named `__proto__` stays an own key, which the
 * strict schema refuses by name, instead of setting the result's prototype and vanishing.
 */
export function coerceFormFields(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(fields).map(([key, value]) => {
      if (typeof value !== "string") return [key, value];
      if ((NUMERIC_FIELDS.has(key) || NUMBER_OR_TEXT_FIELDS.has(key)) && PLAIN_DECIMAL.test(value))
        return [key, Number(value)];
      if (BOOLEAN_FIELDS.has(key) && (value === "true" || value === "false")) return [key, value === "true"];
      return [key, value];
    }),
  );
}

/** Flattens zod issues into `[{path, message}]` for the error body's `details`. */
export function describeIssues(error: z.ZodError): Array<{ path: string; message: string }> {
  return error.issues.map((i) => ({ path: i.path.join(".") || "(body)", message: i.message }));
}
