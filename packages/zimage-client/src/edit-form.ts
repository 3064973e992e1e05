import { Blob } from "node:buffer";
import { FormData } from "undici";
import type { EditRequest } from "./types";

/**
 * The multipart body of `POST /v1/images/edits`. undici's own FormData (not the global one, which
 * comes from Node's bundled undici) so the request encoder recognises it.
 */
export function editForm(req: EditRequest): FormData {
  const form = asyncEditForm(req);
  const optional = {
    size: req.size,
    n: req.n,
    response_format: req.response_format,
    num_inference_steps: req.num_inference_steps,
    guidance_scale: req.guidance_scale,
    negative_prompt: req.negative_prompt,
    cfg_normalization: req.cfg_normalization,
  };
  for (const [name, value] of Object.entries(optional)) {
    // Booleans become "true"/"false", which FastAPI's Form(bool) parses.
    if (value !== undefined) form.append(name, String(value));
  }
  return form;
}

/**
 * The multipart body of `POST /v1/images/async_edit`: only `image` and `prompt`, the two fields the
 * reference server reads (it fixes steps and guidance and keeps the input's size), so nothing in
 * the request suggests a parameter was honoured when it was not.
 */
export function asyncEditForm(req: EditRequest): FormData {
  const form = new FormData();
  form.append("image", new Blob([req.image], { type: req.contentType }), req.filename);
  form.append("prompt", req.prompt);
  return form;
}
