import { UpstreamProtocolError } from "./errors";
import type { HttpAnswer } from "./http-call";

/** The body of a 2xx answer that must be JSON; anything else is a protocol error, never a guess. */
export function jsonBody(answer: HttpAnswer): unknown {
  if (!isJsonType(answer.contentType)) {
    throw new UpstreamProtocolError(
      `upstream answered ${answer.contentType || "no content type"}, expected application/json`,
      { upstreamUrl: answer.upstreamUrl, status: answer.status, body: preview(answer.body) },
    );
  }
  try {
    return JSON.parse(answer.body.toString("utf8"));
  } catch (err) {
    throw new UpstreamProtocolError(`upstream sent invalid JSON: ${(err as Error).message}`, {
      upstreamUrl: answer.upstreamUrl,
      status: answer.status,
      body: preview(answer.body),
      cause: err,
    });
  }
}

/** JSON when the server labels it so, else its text (null when empty): for endpoints we treat as opaque. */
export function lenientBody(answer: HttpAnswer): unknown {
  if (answer.body.length === 0) return null;
  if (isJsonType(answer.contentType)) {
    try {
      return JSON.parse(answer.body.toString("utf8"));
    } catch {
      // Mislabelled text: still worth returning for diagnostics.
    }
  }
  return answer.body.toString("utf8");
}

export function isJsonType(contentType: string): boolean {
  return contentType === "application/json" || contentType.endsWith("+json");
}

function preview(body: Buffer): string {
  return body.subarray(0, 8192).toString("utf8");
}
