/**
 * The API's validation details (`[{path, message}]`, from the job schema in packages/core) as
 * sentences a person reads next to the field: "Steps must be at most 100", not
 * "num_inference_steps: Too big: expected number to be <=100".
 */
export const FIELD_LABELS = {
  prompt: "Prompt",
  negative_prompt: "Negative prompt",
  size: "Size",
  num_inference_steps: "Steps",
  guidance_scale: "Guidance",
  n: "Number of images",
  image: "Input image",
  priority: "Priority",
  cancel_after: "Cancel after",
} as const;

export type Field = keyof typeof FIELD_LABELS;
export type FieldErrors = Partial<Record<Field | "form", string>>;

/**
 * zod's default wordings, should a message reach the console without a friendlier one (an older
 * gateway, a field whose schema keeps the default): "Too big: expected number to be <=100".
 */
const DEFAULTS: Array<[RegExp, (m: RegExpExecArray) => string]> = [
  [
    /^Too big: expected \w+ to (?:be |have )?<=\s*(\S+?)( characters| items)?$/,
    (m) => `must be at most ${m[1]}${m[2] ?? ""}`,
  ],
  [
    /^Too big: expected \w+ to (?:be |have )?<\s*(\S+?)( characters| items)?$/,
    (m) => `must be less than ${m[1]}${m[2] ?? ""}`,
  ],
  [
    /^Too small: expected \w+ to (?:be |have )?>=\s*(\S+?)( characters| items)?$/,
    (m) => `must be at least ${m[1]}${m[2] ?? ""}`,
  ],
  [
    /^Too small: expected \w+ to (?:be |have )?>\s*(\S+?)( characters| items)?$/,
    (m) => `must be more than ${m[1]}${m[2] ?? ""}`,
  ],
  [/^Invalid input: expected int, received number$/, () => "must be a whole number"],
  [/^Invalid input: expected (\w+), received \w+$/, (m) => `must be a ${m[1]}`],
];

/** A schema message in plain words, without the field's name: "must be at most 100". */
export function plainMessage(message: string): string {
  for (const [pattern, phrase] of DEFAULTS) {
    const m = pattern.exec(message);
    if (m) return phrase(m);
  }
  return message;
}

/** "Steps must be at most 100"; "Size: both sides must be divisible by 32". */
export function fieldSentence(field: Field, message: string): string {
  const plain = plainMessage(message);
  return /^(must|is|cannot|should) /.test(plain)
    ? `${FIELD_LABELS[field]} ${plain}`
    : `${FIELD_LABELS[field]}: ${plain}`;
}

const isField = (name: string): name is Field => Object.hasOwn(FIELD_LABELS, name);

/** The API's field paths → the form's fields, one sentence each; anything else goes above the button. */
export function errorsFrom(issues: Array<{ path: string; message: string }>): FieldErrors {
  const out: FieldErrors = {};
  for (const { path, message } of issues) {
    const name = path.split(".")[0] ?? "";
    if (isField(name)) out[name] ??= fieldSentence(name, message);
    else out.form ??= path && path !== "(body)" ? `${path}: ${plainMessage(message)}` : plainMessage(message);
  }
  return out;
}
