import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { fitEditSize } from "@zimage/core";
import { type Cluster, type JobView, startCluster } from "@zimage/test-cluster";
import { makePng, pngSize, waitFor } from "@zimage/testkit";
import type { SimulatorProfile } from "@zimage/zimage-sim";
import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Issue #15: the gateway's end-to-end behaviour against both servers it meets — the one the API
 * notes describe ("documented") and the public reference server as it really is ("reference": no
 * synchronous edits, two pipelines that evict each other, FastAPI errors). One suite, run against
 * each profile; only the facts that differ by profile are looked up per profile.
 */
const LOAD_MS = 400;
const ADMIN = "admin-key-for-the-profile-tests-0123456789";
const root = resolve(import.meta.dirname, "../../..");

const expected: Record<
  SimulatorProfile,
  {
    editMode: "sync" | "async";
    loadedAfterEdit: string;
    editSteps: number | null;
    /** An edit without size: the gateway asks for the input's size fitted to the bounds (96x64 → 192x128); the reference server's async edit takes no size, so there the input decides. */
    editSizeOf: (w: number, h: number) => { width: number; height: number };
  }
> = {
  documented: {
    editMode: "sync",
    loadedAfterEdit: "all",
    editSteps: 50,
    editSizeOf: (w, h) => {
      const [width, height] = fitEditSize(w, h).split("x").map(Number);
      return { width: width!, height: height! };
    },
  },
  // The reference server's async edit runs 50 steps at guidance 4 whatever was asked.
  reference: {
    editMode: "async",
    loadedAfterEdit: "edit",
    editSteps: 50,
    editSizeOf: (width, height) => ({ width, height }),
  },
};

describe.each(["documented", "reference"] as const)("against the %s server", (profile) => {
  let cluster: Cluster;
  let key: string;
  const submit = (body: Record<string, unknown>) => cluster.submit(body, key);
  const submitEdit = (fields: Record<string, string>, image: Buffer) =>
    cluster.submitEdit(fields, image, key);
  const finished = (id: string, statuses?: string[], timeoutMs?: number) =>
    cluster.waitFor(id, statuses, timeoutMs, key);
  const sim = () => cluster.sims[0]!;
  const imageRequests = () =>
    sim()
      .stats()
      .requests.filter((r) => r.path.startsWith("/v1/images") && !r.path.startsWith("/v1/images/tasks"));
  const upstream = async () => (await cluster.upstreams())[0]!;
  /** Waits until the idle unloader has emptied the GPU, so the next job starts cold. */
  const coldGpu = async () => {
    await waitFor(async () => !sim().stats().modelLoaded && (await upstream()).model_loaded === false, {
      timeoutMs: 15_000,
      what: "the idle unload",
    });
  };
  const phases = async (id: string): Promise<{ seen: string[]; view: JobView }> => {
    const seen: string[] = [];
    const view = await waitFor(
      async () => {
        const v = await cluster.view(id, key);
        if (v.phase && seen.at(-1) !== v.phase) seen.push(v.phase);
        return ["succeeded", "failed", "canceled"].includes(v.status) ? v : null;
      },
      { timeoutMs: 30_000, intervalMs: 20, what: `job ${id} to end` },
    );
    return { seen, view };
  };

  beforeAll(async () => {
    cluster = await startCluster({
      workers: 2,
      // Inference long enough after a load for the 50 ms /health watch to see the pipeline loaded
      // even on a loaded machine (the phase and load_ms depend on it).
      sim: { profile, loadMs: LOAD_MS, baseMs: 400 },
      env: { IDLE_UNLOAD_SECONDS: "2.5", ADMIN_API_KEY: ADMIN },
    });
    key = await cluster.createKey(`user-${profile}`);
    // Discovered once the lease holder has seen the upstream answer.
    await waitFor(async () => (await upstream()).capabilities !== null, { what: "capabilities discovered" });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it("discovers how each job kind runs", async () => {
    expect((await upstream()).capabilities).toMatchObject({
      generate: "sync",
      edit: expected[profile].editMode,
      source: { generate: "discovered", edit: "discovered" },
    });
  });

  it("runs a text-to-image job to a downloadable PNG", async () => {
    const v = await finished(await submit({ prompt: "a lighthouse", size: "256x192" }));
    expect(v.status).toBe("succeeded");
    const image = v.result!.images[0]!;
    const bytes = Buffer.from(await (await fetch(image.url)).arrayBuffer());
    expect(pngSize(bytes)).toEqual({ width: 256, height: 192 });
    expect(v.effective_params).toMatchObject({ size: "256x192", n: 1 });
  });

  it("runs an image-to-image job from a real PNG upload, at the input's size", async () => {
    const id = await submitEdit({ prompt: "the same, at night", n: "2" }, makePng(192, 128, 5));
    const v = await finished(id);
    // Read before the idle unloader empties the GPU again (IDLE_UNLOAD_SECONDS below).
    expect((await upstream()).loaded_pipeline).toBe(expected[profile].loadedAfterEdit);
    expect(v.status).toBe("succeeded");
    expect(v.result!.images).toHaveLength(2);
    for (const image of v.result!.images) {
      const bytes = Buffer.from(await (await fetch(image.url)).arrayBuffer());
      expect(pngSize(bytes)).toEqual({ width: 192, height: 128 });
    }
    expect(v.effective_params).toMatchObject({
      size: "192x128",
      n: 2,
      num_inference_steps: expected[profile].editSteps,
    });
  });

  it("edits through the official OpenAI SDK's images.edit", async () => {
    const client = new OpenAI({ apiKey: key, baseURL: `${cluster.apiUrl}/v1`, maxRetries: 0 });
    const res = await client.images.edit({
      image: await toFile(makePng(96, 64, 3), "input.png", { type: "image/png" }),
      prompt: "make it blue",
      response_format: "b64_json",
    });
    expect(pngSize(Buffer.from(res.data![0]!.b64_json!, "base64"))).toEqual(
      expected[profile].editSizeOf(96, 64),
    );
  });

  it("edits through the zimage CLI", async () => {
    const dir = await mkdtemp(join(tmpdir(), "zimage-profile-cli-"));
    try {
      await writeFile(join(dir, "in.png"), makePng(64, 96, 9));
      await promisify(execFile)(
        process.execPath,
        [resolve(root, "apps/cli/bin/zimage.mjs"), "edit", "in.png", "as a woodcut", "-o", "out.png"],
        {
          cwd: dir,
          env: { ...process.env, ZIMAGE_GATEWAY_URL: cluster.apiUrl, ZIMAGE_API_KEY: key },
          timeout: 60_000,
        },
      );
      expect(pngSize(await readFile(join(dir, "out.png")))).toEqual(expected[profile].editSizeOf(64, 96));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a cold job reports loading, then generating, with its load time", async () => {
    await coldGpu();
    const { seen, view } = await phases(await submit({ prompt: "cold", size: "128x128" }));
    expect(view.status).toBe("succeeded");
    expect(seen).toEqual(["loading", "generating"]);
    expect(view.timings.load_ms).toBeGreaterThanOrEqual(LOAD_MS * 0.8);
  });

  it("a failed model load is retried in place, and the job succeeds", async () => {
    await coldGpu();
    const before = imageRequests().length;
    sim().setFaults({ loadFailures: 1 });
    const v = await finished(await submit({ prompt: "load twice", size: "128x128" }));
    expect(v.status).toBe("succeeded");
    expect(v.attempts).toBe(1);
    expect(imageRequests().length - before).toBe(2);
  });

  it("out of memory fails the job with advice, without a retry", async () => {
    sim().setFaults({ oomAbovePixels: 200 * 200 });
    try {
      const v = await finished(await submit({ prompt: "too big", size: "256x256" }));
      expect(v.status).toBe("failed");
      expect(v.error?.code).toBe("upstream_out_of_memory");
      expect(v.error?.message).toMatch(/smaller size/);
    } finally {
      sim().setFaults({ oomAbovePixels: null });
    }
  });

  it("a running job can be canceled; its result is never delivered", async () => {
    sim().setFaults({ latencyMs: 1_500 });
    try {
      const id = await submit({ prompt: "never mind", size: "128x128" });
      await finished(id, ["running"]);
      const res = await cluster.request("POST", `/v1/jobs/${id}/cancel`, { key });
      expect(res.status).toBe(200);
      const v = await finished(id);
      expect(v.status).toBe("canceled");
      expect(v.result).toBeNull();
    } finally {
      sim().setFaults({ latencyMs: 0 });
    }
  });

  it("unloads an idle GPU and says so", async () => {
    await finished(await submit({ prompt: "then rest", size: "128x128" }));
    const unloads = sim().stats().unloads;
    await waitFor(() => sim().stats().unloads > unloads, { timeoutMs: 15_000, what: "the idle unload" });
    await waitFor(async () => (await upstream()).loaded_pipeline === "none", { what: "state says none" });
  });

  it("a job whose worker is killed mid-request completes once", async () => {
    sim().setFaults({ latencyMs: 1_500 });
    try {
      const id = await submitEdit({ prompt: "survive" }, makePng(128, 96, 2));
      await finished(id, ["running"]);
      const before = imageRequests().length;
      await waitFor(() => sim().stats().inFlight > 0, { what: "the request to reach the simulator" });
      const victim = await waitFor(() => cluster.leaseHolder(), { what: "the lease holder" });
      await victim.stop("SIGKILL");
      const v = await finished(id, ["succeeded", "failed"], 45_000);
      expect(v.status).toBe("succeeded");
      expect(v.result!.images).toHaveLength(1);
      expect(imageRequests().length - before).toBeGreaterThanOrEqual(1);
      expect(sim().stats().maxInFlight).toBe(1);
    } finally {
      sim().setFaults({ latencyMs: 0 });
    }
  });
});
