import { GatewayError } from "@zimage/core";
import type { ZImageClient } from "@zimage/zimage-client";

/**
 * Pre-flight: never pile a second request onto a GPU that says it is `generating` (someone else's
 * request, or one left running by a crashed worker). Polls until idle or the deadline.
 */
export async function waitUntilIdle(
  client: ZImageClient,
  opts: { intervalMs: number; timeoutMs: number; signal?: AbortSignal | undefined },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const status = await client.status();
    if (!status.busy) return;
    if (Date.now() + opts.intervalMs > deadline) {
      throw new GatewayError(
        "upstream_unavailable",
        `the upstream was still generating someone else's image after ${opts.timeoutMs} ms`,
      );
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs));
    opts.signal?.throwIfAborted();
  }
}
