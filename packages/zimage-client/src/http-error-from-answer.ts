import { errorMessage } from "./error-message";
import { UpstreamHttpError, UpstreamModelLoadError, UpstreamOutOfMemoryError } from "./errors";
import type { HttpAnswer } from "./http-call";

const MODEL_LOAD_FAILED = /model loading failed/i;
// PyTorch says "CUDA out of memory" / "OutOfMemoryError"; other stacks say "OOM".
const OUT_OF_MEMORY = /out of memory|outofmemory|\boom\b/i;

/** The typed error for a non-2xx answer, chosen from its status and body text. */
export function httpErrorFromAnswer(answer: HttpAnswer): UpstreamHttpError {
  const text = answer.body.toString("utf8");
  const init = { upstreamUrl: answer.upstreamUrl, status: answer.status, body: text };
  const message = errorMessage(answer.status, text);
  if (answer.status === 500 && MODEL_LOAD_FAILED.test(text)) return new UpstreamModelLoadError(message, init);
  if (OUT_OF_MEMORY.test(text)) return new UpstreamOutOfMemoryError(message, init);
  return new UpstreamHttpError(message, init);
}

export function assertOk(answer: HttpAnswer): void {
  if (answer.status < 200 || answer.status >= 300) throw httpErrorFromAnswer(answer);
}
