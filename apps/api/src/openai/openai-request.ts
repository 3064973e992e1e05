import { editRequestSchema, GatewayError, generateRequestSchema } from "@zimage/core";

/**
 * OpenAI Images API fields the gateway accepts and does not act on: every upstream serves the same
 * model, and the Z-Image server has no quality, style or moderation knobs. Accepting them lets
 * existing OpenAI clients and scripts work unchanged.
 */
const ACCEPTED_AND_IGNORED = new Set([
  "model",
  "quality",
  "style",
  "user",
  "moderation",
  "background",
  "input_fidelity",
  "output_compression",
]);

const unsupported = (param: string, message: string) =>
  new GatewayError("invalid_request", message, { param });

/** The fields each endpoint's native schema knows; anything else is refused here, by name. */
const KNOWN = {
  generate: new Set(Object.keys(generateRequestSchema.shape)),
  edit: new Set(Object.keys(editRequestSchema.shape)),
};

/**
 * An OpenAI request body (JSON, or multipart fields as strings) as the native job request: ignored
 * fields are dropped, fields the gateway cannot honour are refused with the parameter named, and
 * everything else is left for the native schema to validate, so both APIs share one set of rules.
 * An unknown field is refused here rather than by the strict schema, whose issue names no field
 * (the body), so that OpenAI's `param` names it (`mask` on a generation, issue #19).
 */
export function nativeParams(body: unknown, endpoint: "generate" | "edit"): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new GatewayError("invalid_request", "the request body must be a JSON object");
  }
  // fromEntries keeps a `__proto__` field an own key, so the native schema refuses it by name as on
  // POST /v1/jobs; assigning it (`out[key] = value`) would set the prototype and drop it silently.
  const out: Record<string, unknown> = Object.fromEntries(
    Object.entries(body).filter(([key]) => !ACCEPTED_AND_IGNORED.has(key)),
  );
  const { stream, partial_images, output_format, size, kind, webhook, webhook_url } = out;
  if (stream === true || stream === "true") {
    throw unsupported("stream", "streaming partial images is not supported; omit stream");
  }
  if (partial_images !== undefined && partial_images !== 0 && partial_images !== "0") {
    throw unsupported("partial_images", "partial images are not supported; omit partial_images");
  }
  if (output_format !== undefined && output_format !== "png") {
    throw unsupported("output_format", "the gateway returns PNG only; omit output_format or send png");
  }
  if (kind !== undefined || webhook !== undefined || webhook_url !== undefined) {
    const param = kind !== undefined ? "kind" : "webhook";
    throw unsupported(param, `${param} is a field of the native API (POST /v1/jobs), not of this endpoint`);
  }
  // Scheduling fields (issue #19) are native too: an OpenAI client waits for its image and has no way
  // to read a `canceled` end; a facade job is interactive (batch for a batch-only key).
  for (const param of ["priority", "cancel_after"] as const) {
    if (out[param] !== undefined)
      throw unsupported(param, `${param} is a field of the native API (POST /v1/jobs), not of this endpoint`);
  }
  const unknown = Object.keys(out).find(
    (key) => !KNOWN[endpoint].has(key) && !["stream", "partial_images", "output_format"].includes(key),
  );
  if (unknown === "mask") {
    throw unsupported("mask", "masks are not supported: the Z-Image server edits the whole image");
  }
  if (unknown !== undefined) {
    throw unsupported(unknown, `unknown parameter ${JSON.stringify(unknown)} for this endpoint`);
  }
  delete out.stream;
  delete out.partial_images;
  delete out.output_format;
  // OpenAI's "auto" size means the default: the gateway's for generations, the input's for edits.
  if (size === "auto") delete out.size;
  return out;
}

/** `Prefer: respond-async` (RFC 7240): answer 202 with the job instead of holding the connection. */
export const prefersAsync = (header: string | undefined) =>
  /(?:^|[,;\s])respond-async(?:$|[,;\s])/i.test(header ?? "");
