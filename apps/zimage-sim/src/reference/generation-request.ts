import express, { type Request } from "express";
import { readJsonBody, validateModel } from "./fastapi-body";
import type { TextToImageJob } from "./image-work";

/** The reference server's `ImageGenerationRequest`: its defaults, no `seed`, unknown fields ignored. */
const generationModel = {
  prompt: { kind: "str" },
  negative_prompt: { kind: "str", default: "" },
  n: { kind: "int", default: 1 },
  size: { kind: "str", default: "1024x1024" },
  response_format: { kind: "str", default: "url" },
  num_inference_steps: { kind: "int", default: 50 },
  guidance_scale: { kind: "float", default: 4.0 },
  cfg_normalization: { kind: "bool", default: false },
} as const;

/** Parses a generations body as the reference server's FastAPI route would (throws on a 422). */
export function parseGeneration(req: Request): TextToImageJob {
  const b = validateModel(generationModel, readJsonBody(req));
  return {
    kind: "t2i",
    prompt: b.prompt,
    negativePrompt: b.negative_prompt,
    size: b.size,
    n: b.n,
    steps: b.num_inference_steps,
    guidance: b.guidance_scale,
    responseFormat: b.response_format,
  };
}
export const rawBody = express.text({ type: () => true, limit: "10mb" });
