// Helpers for the reference profile's tests: real HTTP to a simulator on loopback.
import { waitFor } from "@zimage/testkit";
import { afterEach } from "vitest";
import { type RunningSimulator, type SimulatorOptions, startSimulator } from "./simulator";

export type Json = Record<string, unknown>;
export type Task = { status: string; data?: Array<{ url?: string; b64_json?: string }>; error?: string };

/** One reference-profile simulator per test, closed after it; fast timings unless overridden. */
export function useReferenceSimulator() {
  let sim: RunningSimulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });
  const url = (path: string) => `${sim!.url}${path}`;
  const client = {
    get sim() {
      return sim!;
    },
    async start(opts: SimulatorOptions = {}) {
      sim = await startSimulator({
        profile: "reference",
        loadMs: 20,
        baseMs: 10,
        msPerStepMegapixel: 0,
        ...opts,
      });
      return sim;
    },
    /** Closes the running simulator without starting another (a restart is close + start). */
    async stop() {
      await sim?.close();
      sim = undefined;
    },
    get: async (path: string) => (await fetch(url(path))).json() as Promise<Json>,
    post: (path: string, body: unknown, contentType = "application/json") =>
      fetch(url(path), {
        method: "POST",
        headers: { "content-type": contentType },
        body: typeof body === "string" ? body : JSON.stringify(body),
      }),
    generate: (body: Json) => client.post("/v1/images/generations", body),
    asyncEdit(fields: Record<string, string>, image?: Buffer, path = "/v1/images/async_edit") {
      const fd = new FormData();
      for (const [k, v] of Object.entries(fields)) fd.append(k, v);
      if (image) fd.append("image", new Blob([image]), "in.png");
      return fetch(url(path), { method: "POST", body: fd });
    },
    /** Submits an async job and answers its task id. */
    async submit(res: Promise<Response>): Promise<string> {
      const r = await res;
      if (r.status !== 200) throw new Error(`submit answered ${r.status}: ${await r.text()}`);
      return ((await r.json()) as { task_id: string }).task_id;
    },
    /** Polls a task until it is no longer processing (with a deadline). */
    waitTask: (id: string) =>
      waitFor(
        async () => {
          const t = (await client.get(`/v1/images/tasks/${id}`)) as Task;
          return t.status === "processing" ? null : t;
        },
        { what: `task ${id}` },
      ),
  };
  return client;
}
