import type { JobKind } from "@zimage/core";
import type { ZImageClient } from "@zimage/zimage-client";
import { healthSaysLoaded } from "./upstream-request";

/**
 * While a request to a cold upstream runs, polls `/health` to see when the model becomes loaded.
 * That splits the request's time into load and inference and moves the job's phase from
 * `loading` to `generating` without the upstream telling us anything more. On a two-pipeline server
 * it waits for the job kind's own pipeline (the reference server's `t2i_loaded`/`edit_loaded`).
 */
export function watchModelLoad(
  client: ZImageClient,
  opts: { kind: JobKind; intervalMs: number; onLoaded: (loadMs: number) => void },
): { stop(): void } {
  const started = performance.now();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    if (stopped) return;
    // A probe whose failure is the answer (not loaded yet): the next tick asks again, and the image
    // request itself reports a down upstream.
    const health = await client.health().catch(() => null);
    if (stopped) return;
    if (healthSaysLoaded(health, opts.kind)) {
      opts.onLoaded(Math.round(performance.now() - started));
      return;
    }
    timer = setTimeout(tick, opts.intervalMs);
  };
  timer = setTimeout(tick, opts.intervalMs);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
