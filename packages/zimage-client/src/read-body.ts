import type { Dispatcher } from "undici";
import { UpstreamProtocolError } from "./errors";

export interface ReadBodyOptions {
  limit: number;
  /** Keep the first `limit` bytes and stop, instead of failing (for error bodies we only log). */
  truncate: boolean;
  upstreamUrl: string;
}

/**
 * Reads a response body while counting bytes, so a runaway answer is cut off at `limit` instead of
 * being buffered whole (image answers are base64 and legitimately large; unbounded is not).
 */
export async function readBody(res: Dispatcher.ResponseData, opts: ReadBodyOptions): Promise<Buffer> {
  const declared = Number(res.headers["content-length"]);
  if (!opts.truncate && Number.isFinite(declared) && declared > opts.limit) {
    // Destroying an undici body emits an AbortError; nobody else listens, so swallow it here.
    res.body.on("error", () => {}).destroy();
    throw tooLarge(`${declared} bytes declared`, opts);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    if (total + chunk.length > opts.limit) {
      if (!opts.truncate) throw tooLarge(`more than ${opts.limit} bytes received`, opts);
      chunks.push(chunk.subarray(0, opts.limit - total));
      total = opts.limit;
      // Leaving the loop early destroys the stream, which makes undici drop the connection.
      break;
    }
    chunks.push(chunk);
    total += chunk.length;
  }
  return Buffer.concat(chunks, total);
}

function tooLarge(what: string, opts: ReadBodyOptions): UpstreamProtocolError {
  return new UpstreamProtocolError(
    `upstream response too large (${what}; maxResponseBytes is ${opts.limit})`,
    { upstreamUrl: opts.upstreamUrl },
  );
}
