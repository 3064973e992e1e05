import { EventSourceParserStream } from "eventsource-parser/stream";
import type { Job } from "./types.js";

/**
 * The job views of an SSE response (`GET /v1/jobs/:id/events`), in order. The gateway ends the
 * stream after the final state; heartbeat comments are skipped by the parser, but any bytes count
 * as a sign of life (`onBytes`).
 */
export async function* jobEvents(
  body: ReadableStream<Uint8Array>,
  onBytes: () => void = () => {},
): AsyncGenerator<{ job: Job; id: string | undefined }> {
  const events = body
    .pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          onBytes();
          controller.enqueue(chunk);
        },
      }),
    )
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(new EventSourceParserStream());
  const reader = events.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      if (value.event === "job") yield { job: JSON.parse(value.data) as Job, id: value.id };
    }
  } finally {
    // Cleanup after the loop ended (or threw, which is what the caller sees): a stream that cannot
    // be canceled is already closed.
    await reader.cancel().catch(() => {});
  }
}
