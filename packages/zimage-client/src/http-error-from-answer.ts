import { classifyFailure } from "./classify-failure";
import { errorMessage } from "./error-message";
import type { UpstreamHttpError } from "./errors";
import type { HttpAnswer } from "./http-call";

/** The typed error for a non-2xx answer, chosen from its status and body text. */
export function httpErrorFromAnswer(answer: HttpAnswer): UpstreamHttpError {
  const text = answer.body.toString("utf8");
  return classifyFailure({
    status: answer.status,
    text,
    upstreamUrl: answer.upstreamUrl,
    message: errorMessage(answer.status, text),
  });
}

export function assertOk(answer: HttpAnswer): void {
  if (answer.status < 200 || answer.status >= 300) throw httpErrorFromAnswer(answer);
}
