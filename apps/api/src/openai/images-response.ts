import { ERROR_CODES, type ErrorCode, GatewayError, type JobView } from "@zimage/core";

export interface ImagesResponse {
  created: number;
  data: Array<{ b64_json?: string; url?: string; revised_prompt: string }>;
}

/** OpenAI's answer for a finished job: signed gateway URLs, or the PNGs inline as base64. */
export async function imagesResponse(
  view: JobView,
  readImage: (index: number) => Promise<Buffer>,
): Promise<ImagesResponse> {
  const images = view.result?.images ?? [];
  const inline = view.params.response_format === "b64_json";
  const prompt = typeof view.params.prompt === "string" ? view.params.prompt : "";
  const created = Math.floor(Date.parse(view.completed_at ?? view.created_at) / 1000);
  const data = await Promise.all(
    images.map(async (img, i) => {
      const revised_prompt = img.revised_prompt ?? prompt;
      return inline
        ? { b64_json: (await readImage(i)).toString("base64"), revised_prompt }
        : { url: img.url, revised_prompt };
    }),
  );
  return { created, data };
}

/**
 * A job that ended without images as an error for the waiting caller. A rejection by the upstream
 * and a size too large for the GPU are the request's fault in OpenAI's terms (400); the rest keep
 * the status of their code.
 */
export function jobFailure(view: JobView): GatewayError {
  const failure = view.error ?? { code: "upstream_error", message: "the job failed" };
  const code = (failure.code in ERROR_CODES ? failure.code : "upstream_error") as ErrorCode;
  const fault = CLIENT_FAULTS[failure.code];
  return new GatewayError(code, failure.message, { job_id: view.id, ...fault }, fault ? 400 : undefined);
}

const CLIENT_FAULTS: Record<string, { param: string | null }> = {
  upstream_rejected: { param: null },
  upstream_out_of_memory: { param: "size" },
};
