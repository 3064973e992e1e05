import type { Request } from "express";

/** One entry of FastAPI's 422 `detail` list, in pydantic v2's words. */
export interface ValidationIssue {
  type: string;
  loc: Array<string | number>;
  msg: string;
  input: unknown;
  ctx?: Record<string, unknown>;
}

export class RequestValidationError extends Error {
  constructor(readonly issues: ValidationIssue[]) {
    super("request validation failed");
  }
}

type Kind = "str" | "int" | "float" | "bool";
export type FieldSpec = { kind: Kind; default?: string | number | boolean };
type Values<S extends Record<string, FieldSpec>> = {
  [K in keyof S]: S[K]["kind"] extends "str" ? string : S[K]["kind"] extends "bool" ? boolean : number;
};

const truthy = new Set(["1", "on", "t", "true", "y", "yes"]);
const falsy = new Set(["0", "off", "f", "false", "n", "no"]);

/** Pydantic's lax coercion of one value: the value, or the issue it raises. */
function coerce(kind: Kind, v: unknown): { value: unknown } | { type: string; msg: string } {
  switch (kind) {
    case "str":
      return typeof v === "string"
        ? { value: v }
        : { type: "string_type", msg: "Input should be a valid string" };
    case "int":
      if (typeof v === "boolean") return { value: Number(v) };
      if (typeof v === "number")
        return Number.isInteger(v)
          ? { value: v }
          : {
              type: "int_from_float",
              msg: "Input should be a valid integer, got a number with a fractional part",
            };
      if (typeof v === "string")
        return /^\s*[-+]?\d+\s*$/.test(v)
          ? { value: Number(v) }
          : {
              type: "int_parsing",
              msg: "Input should be a valid integer, unable to parse string as an integer",
            };
      return { type: "int_type", msg: "Input should be a valid integer" };
    case "float":
      if (typeof v === "number") return { value: v };
      if (typeof v === "boolean") return { value: Number(v) };
      if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return { value: Number(v) };
      return typeof v === "string"
        ? { type: "float_parsing", msg: "Input should be a valid number, unable to parse string as a number" }
        : { type: "float_type", msg: "Input should be a valid number" };
    case "bool":
      if (typeof v === "boolean") return { value: v };
      if (v === 0 || v === 1) return { value: v === 1 };
      if (typeof v === "string" && truthy.has(v.toLowerCase())) return { value: true };
      if (typeof v === "string" && falsy.has(v.toLowerCase())) return { value: false };
      return typeof v === "string"
        ? { type: "bool_parsing", msg: "Input should be a valid boolean, unable to interpret input" }
        : { type: "bool_type", msg: "Input should be a valid boolean" };
  }
}

/**
 * Validates a body against a pydantic-like model: unknown fields are ignored, absent ones take
 * their default, and every bad field is reported at once, as FastAPI does.
 */
export function validateModel<S extends Record<string, FieldSpec>>(spec: S, body: unknown): Values<S> {
  if (body === undefined)
    throw new RequestValidationError([
      { type: "missing", loc: ["body"], msg: "Field required", input: null },
    ]);
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new RequestValidationError([
      {
        type: "model_attributes_type",
        loc: ["body"],
        msg: "Input should be a valid dictionary or object to extract fields from",
        input: body,
      },
    ]);
  const input = body as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const issues: ValidationIssue[] = [];
  for (const [name, field] of Object.entries(spec)) {
    if (!(name in input)) {
      if (field.default === undefined)
        issues.push({ type: "missing", loc: ["body", name], msg: "Field required", input });
      else out[name] = field.default;
      continue;
    }
    const r = coerce(field.kind, input[name]);
    if ("value" in r) out[name] = r.value;
    else issues.push({ ...r, loc: ["body", name], input: input[name] });
  }
  if (issues.length > 0) throw new RequestValidationError(issues);
  return out as Values<S>;
}

/**
 * FastAPI's reading of a JSON body: parsed as JSON when the content type is JSON or absent,
 * otherwise handed to the model as raw bytes (which then fails validation). Needs `express.text`.
 */
export function readJsonBody(req: Request): unknown {
  const raw = typeof req.body === "string" ? req.body : "";
  if (raw === "") return undefined;
  const type = req.headers["content-type"];
  if (type && !/[/+]json\b/i.test(type.split(";")[0]!)) return raw;
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw new RequestValidationError([
      {
        type: "json_invalid",
        loc: ["body", 0],
        msg: "JSON decode error",
        input: {},
        ctx: { error: (err as Error).message },
      },
    ]);
  }
}
