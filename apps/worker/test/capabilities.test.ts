import { type Cluster, startCluster } from "@zimage/test-cluster";
import { makePng, waitFor } from "@zimage/testkit";
import { renderImage } from "@zimage/zimage-sim";
import { afterEach, describe, expect, it } from "vitest";

/**
 * Issue #15, item 1: what an upstream offers is discovered (or pinned by the operator), and a job
 * goes only where it can run; a kind no upstream offers is refused at submit, not failed later.
 */
let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

const discovered = (c: Cluster) =>
  waitFor(async () => ((await c.upstreams()).every((u) => u.capabilities !== null) ? c.upstreams() : null), {
    what: "every upstream discovered",
  });

describe("capabilities", () => {
  it("an upstream pinned to text-to-image only never gets an edit job", async () => {
    cluster = await startCluster({
      upstreams: 2,
      upstreamOptions: [";edit=none", ""],
      sim: { loadMs: 20, baseMs: 80 },
    });
    const states = await discovered(cluster);
    expect(states[0]!.capabilities).toMatchObject({ edit: null, source: { edit: "pinned" } });
    expect(states[1]!.capabilities).toMatchObject({ edit: "sync", source: { edit: "discovered" } });
    const edits = await Promise.all(
      [1, 2, 3, 4].map((i) => cluster!.submitEdit({ prompt: `e${i}` }, makePng(64, 64, i))),
    );
    const generations = await Promise.all(
      [1, 2].map((i) => cluster!.submit({ prompt: `g${i}`, size: "128x128" })),
    );
    const views = await Promise.all([...edits, ...generations].map((id) => cluster!.waitFor(id)));
    expect(views.map((v) => v.status)).toEqual(Array(6).fill("succeeded"));
    expect(views.slice(0, 4).map((v) => v.upstream)).toEqual(Array(4).fill("gpu1"));
    const editsOnGpu0 = cluster.sims[0]!.stats().requests.filter((r) => r.path.includes("edit"));
    expect(editsOnGpu0).toEqual([]);
  });

  it("with no upstream able to edit, an edit submit is a 409 and text-to-image still works", async () => {
    cluster = await startCluster({ upstreamOptions: [";edit=none"], sim: { loadMs: 20, baseMs: 50 } });
    await discovered(cluster);
    const fd = new FormData();
    fd.append("prompt", "nowhere to go");
    fd.append("image", new Blob([new Uint8Array(makePng(64, 64))], { type: "image/png" }), "in.png");
    const res = await fetch(`${cluster.apiUrl}/v1/jobs`, { method: "POST", body: fd });
    expect(res.status).toBe(409);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("capability_unavailable");
    const v = await cluster.waitFor(await cluster.submit({ prompt: "fine", size: "128x128" }));
    expect(v.status).toBe("succeeded");
  });
});

describe("per-upstream defaults and bounds", () => {
  it("a Turbo upstream's defaults fill what a job leaves out, and the image is rendered with them", async () => {
    cluster = await startCluster({
      upstreamOptions: [";steps=8;steps_range=8-9;guidance=0;guidance_range=0-1"],
      sim: { loadMs: 20, baseMs: 50 },
    });
    await discovered(cluster);
    const v = await cluster.waitFor(await cluster.submit({ prompt: "turbo fox", size: "128x128", seed: 7 }));
    expect(v.status).toBe("succeeded");
    expect(v.effective_params).toMatchObject({ num_inference_steps: 8, guidance_scale: 0, size: "128x128" });
    const bytes = Buffer.from(await (await fetch(v.result!.images[0]!.url)).arrayBuffer());
    const expected = renderImage({
      prompt: "turbo fox",
      width: 128,
      height: 128,
      steps: 8,
      guidance: 0,
      seed: 7,
      index: 0,
    });
    expect(bytes.equals(expected)).toBe(true);
    // Asked for, but outside every upstream's bounds: refused at submit, with the range.
    const res = await cluster.request("POST", "/v1/jobs", {
      body: { prompt: "slow fox", size: "128x128", num_inference_steps: 50 },
    });
    expect(res.status).toBe(422);
    expect(JSON.stringify(await res.json())).toMatch(/8-9/);
    // Guidance 1 is within this upstream's range: kept as asked.
    const kept = await cluster.waitFor(
      await cluster.submit({ prompt: "guided fox", size: "128x128", guidance_scale: 1 }),
    );
    expect(kept.effective_params).toMatchObject({ num_inference_steps: 8, guidance_scale: 1 });
  });
});
