import type { JobData, JobKind, UpstreamModes, UpstreamParamRules } from "@zimage/core";
import type { ObjectStore } from "@zimage/storage";
import {
  type ImagesResponse,
  type UpstreamHealth,
  UpstreamHttpError,
  UpstreamModelLoadError,
  type ZImageClient,
} from "@zimage/zimage-client";
import { type PlannedParams, paramsForUpstream } from "./effective-params";

export interface UpstreamRequestDeps {
  client: ZImageClient;
  store: ObjectStore;
  params?: UpstreamParamRules | undefined;
  pollIntervalMs: number;
  beforeSend?: (() => void) | undefined;
  /** Called as each async task's image is ready (the pipeline is loaded from then on). */
  onImageDone?: (() => void) | undefined;
  /** How this upstream runs the job's kind, read once at dispatch (a rediscovery may be under way). */
  mode: UpstreamModes[keyof UpstreamModes];
}

/** Does this `/health` answer say the pipeline for `kind` is in VRAM? (null/false: treat as cold) */
export function healthSaysLoaded(health: UpstreamHealth | null, kind: JobKind): boolean {
  // The client reports every shape as per-kind flags (a single model's flag stands for both kinds).
  return health?.pipelines[kind] === true;
}

/**
 * A model-load failure as real servers answer it: the documented "Model loading failed", the
 * reference server's "T2I/Edit Load Error" (both typed by the client), or a 500 with no detail at
 * all while the pipeline was not loaded (a load that died without a message).
 */
export function asLoadFailure(err: unknown, cold: boolean): UpstreamModelLoadError | null {
  if (err instanceof UpstreamModelLoadError) return err;
  if (cold && err instanceof UpstreamHttpError && err.emptyDetail)
    return new UpstreamModelLoadError("the upstream failed while loading the model (500 without detail)", {
      upstreamUrl: err.upstreamUrl,
      status: err.status ?? 500,
      body: err.body ?? "",
    });
  return null;
}

/**
 * Sends one job to the upstream the way it runs that kind: one synchronous request, or, for an
 * edit on a server that only has the async pair, one task per image, each polled to completion.
 * The gateway always asks for inline base64 where it can: one round trip, nothing left on the
 * upstream's disk; async results are URLs, fetched when the images are stored.
 */
export async function sendToUpstream(
  data: JobData,
  deps: UpstreamRequestDeps,
  call: { signal?: AbortSignal | undefined; timeoutMs: number },
): Promise<{ response: ImagesResponse; effective: PlannedParams }> {
  const { mode } = deps;
  const { params, effective } = paramsForUpstream(data, deps.params, mode);
  const { response_format: _ignored, ...sent } = params;
  const opts = call.signal
    ? { signal: call.signal, timeoutMs: call.timeoutMs }
    : { timeoutMs: call.timeoutMs };
  if (data.kind === "generate") {
    deps.beforeSend?.();
    const response = await deps.client.generate({ ...sent, response_format: "b64_json" }, opts);
    return { response, effective };
  }
  const input = data.input!;
  const image = await deps.store.get(input.key);
  const edit = {
    ...sent,
    image,
    filename: input.filename,
    contentType: input.contentType,
    response_format: "b64_json" as const,
  };
  if (mode !== "async") {
    // Nothing awaited between this check and the request leaving the process.
    deps.beforeSend?.();
    return { response: await deps.client.edit(edit, opts), effective };
  }
  const response: ImagesResponse = { created: Math.floor(Date.now() / 1000), data: [] };
  // One deadline for the n tasks, as for the n images of one synchronous request.
  const deadline = performance.now() + call.timeoutMs;
  for (let i = 0; i < effective.n; i++) {
    const timeoutMs = Math.max(1, Math.round(deadline - performance.now()));
    deps.beforeSend?.();
    const one = await deps.client.editViaTask(edit, {
      ...opts,
      timeoutMs,
      pollIntervalMs: deps.pollIntervalMs,
    });
    response.data.push(...one.data.slice(0, 1));
    deps.onImageDone?.();
  }
  return { response, effective };
}
