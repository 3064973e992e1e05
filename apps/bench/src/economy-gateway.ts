import type { Cluster } from "@zimage/test-cluster";
import type { SideResult } from "./economy-report";
import { type GpuProfile, replay, type SubmitEnd, sideResult } from "./economy-sim";
import type { TraceJob } from "./economy-trace";
import { sleep } from "./gateway";

const FINISHED = new Set(["succeeded", "failed", "canceled"]);

interface View {
  id: string;
  status: string;
  completed_at: string | null;
  error: { code: string; message: string } | null;
}

async function submitJob(
  apiUrl: string,
  key: string,
  job: TraceJob,
  input: Buffer | undefined,
): Promise<View> {
  const headers = { authorization: `Bearer ${key}` };
  const init: RequestInit =
    job.kind === "edit"
      ? (() => {
          // The native multipart submit: the image and the text fields, as a user's upload form sends them.
          const form = new FormData();
          form.append("prompt", job.prompt);
          form.append("image", new Blob([input!], { type: "image/png" }), "input.png");
          return { method: "POST", headers, body: form };
        })()
      : {
          method: "POST",
          headers: { ...headers, "content-type": "application/json" },
          body: JSON.stringify({
            prompt: job.prompt,
            size: `${job.width}x${job.height}`,
            n: 1,
            num_inference_steps: job.steps,
          }),
        };
  const res = await fetch(`${apiUrl}/v1/jobs`, init);
  if (res.status !== 202) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as View;
}

/**
 * Side (b): the trace through the gateway's HTTP API, each job as its user (one API key per user),
 * followed with long polls (`GET /v1/jobs/:id?wait=60`) until it ends. `cluster` runs the api, one worker
 * and one reference-profile simulator; its simulator's books are reset before the replay.
 */
export async function runGateway(
  cluster: Cluster,
  trace: TraceJob[],
  inputs: Map<number, Buffer>,
  gpu: GpuProfile,
  timeoutMs: number,
): Promise<SideResult> {
  const sim = cluster.sims[0]!;
  const keys = new Map<string, string>();
  for (const user of new Set(trace.map((j) => j.user))) keys.set(user, await cluster.createKey(user));
  sim.reset();
  const outcomes = await replay(trace, async (job, submittedAt): Promise<SubmitEnd> => {
    const key = keys.get(job.user)!;
    let view = await submitJob(cluster.apiUrl, key, job, inputs.get(job.index));
    const deadline = submittedAt + timeoutMs;
    while (!FINISHED.has(view.status) && Date.now() < deadline) {
      const res = await fetch(`${cluster.apiUrl}/v1/jobs/${view.id}?wait=60`, {
        headers: { authorization: `Bearer ${key}` },
        signal: AbortSignal.timeout(Math.max(1, Math.ceil(deadline - Date.now()))),
      }).catch(() => null);
      if (res?.ok) view = (await res.json()) as View;
      else await sleep(200);
    }
    const ok = view.status === "succeeded";
    return {
      completedAt: view.completed_at ? Date.parse(view.completed_at) : null,
      ok,
      ...(!ok && {
        error: view.error ? `${view.error.code}: ${view.error.message}` : `still ${view.status}`,
      }),
    };
  });
  return sideResult("gateway", trace, outcomes, sim, gpu);
}
