import { makePng, waitFor } from "@zimage/testkit";
import { describe, expect, it } from "vitest";
import { type Json, useReferenceSimulator } from "./reference-test-client";

const z = useReferenceSimulator();
const small = { size: "64x64" };

describe("reference profile: two pipelines", () => {
  it("loading one pipeline evicts the other, and every switch is a counted load", async () => {
    await z.start({ t2iLoadMs: 30, editLoadMs: 60 });
    expect((await z.generate({ prompt: "t2i", ...small })).status).toBe(200);
    expect((await z.waitTask(await z.submit(z.asyncEdit({ prompt: "edit" }, makePng(64, 64))))).status).toBe(
      "completed",
    );
    expect(await z.get("/health")).toMatchObject({ t2i_loaded: false, edit_loaded: true });
    expect((await z.generate({ prompt: "t2i again", ...small })).status).toBe(200);
    expect((await z.generate({ prompt: "no switch", ...small })).status).toBe(200);
    expect(await z.get("/health")).toMatchObject({ t2i_loaded: true, edit_loaded: false });
    expect(z.sim.stats()).toMatchObject({ loads: 3, pipelineLoads: { t2i: 2, edit: 1 }, evictions: 2 });
  });

  it("says generating while a model loads, with neither pipeline loaded during a switch", async () => {
    await z.start({ editLoadMs: 2000 });
    expect((await z.generate({ prompt: "t2i", ...small })).status).toBe(200);
    await z.submit(z.asyncEdit({ prompt: "switch" }, makePng(64, 64)));
    await waitFor(() => z.sim.stats().loading, { what: "the edit load" });
    expect(await z.get("/v1/internal/status")).toEqual({
      status: "generating",
      t2i_loaded: false,
      edit_loaded: false,
    });
  });

  it("makes a second concurrent request wait on its connection, then succeed; both count as in flight", async () => {
    await z.start({ baseMs: 300 });
    const first = z.generate({ prompt: "a", ...small });
    await waitFor(() => z.sim.stats().requests[0]?.startedAt, { what: "the first request to start" });
    const second = z.generate({ prompt: "b", ...small });
    await waitFor(() => z.sim.stats().inFlight === 2, { what: "the second request to arrive" });
    // Waiting, not refused: it has no answer while the first still runs.
    expect(z.sim.stats().requests[1]).toMatchObject({ startedAt: null, status: null });
    const [a, b] = await Promise.all([first, second]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const [r1, r2] = z.sim.stats().requests;
    expect(r2!.startedAt!).toBeGreaterThanOrEqual(r1!.finishedAt!);
    expect(z.sim.stats().maxInFlight).toBe(2);
  });

  it("counts an async task queued behind a running job as in flight at once", async () => {
    await z.start({ baseMs: 200 });
    const sync = z.generate({ prompt: "sync", ...small });
    await waitFor(() => z.sim.stats().inFlight === 1, { what: "the sync request" });
    const id = await z.submit(z.post("/v1/images/async_generate", { prompt: "queued", ...small }));
    expect(z.sim.stats().maxInFlight).toBe(2);
    expect((await sync).status).toBe(200);
    expect((await z.waitTask(id)).status).toBe("completed");
  });
});

describe("reference profile: faults", () => {
  it("a failed T2I load is a 500 detail starting with T2I Load Error, then the next request loads", async () => {
    await z.start({ faults: { loadFailures: 1 } });
    const failed = await z.generate({ prompt: "x", ...small });
    expect(failed.status).toBe(500);
    const body = (await failed.json()) as { detail: string };
    expect(body.detail).toMatch(/^T2I Load Error/);
    expect(body.detail).not.toMatch(/Model loading failed/);
    expect((await z.get("/health")).t2i_loaded).toBe(false);
    expect((await z.generate({ prompt: "x", ...small })).status).toBe(200);
    expect(z.sim.stats().pipelineLoads).toEqual({ t2i: 1, edit: 0 });
  });

  it("a failed edit load, an OOM and an undecodable image fail the task with the exception text", async () => {
    await z.start({ faults: { loadFailures: 1 } });
    const png = makePng(128, 128);
    const loadFailed = await z.waitTask(await z.submit(z.asyncEdit({ prompt: "x" }, png)));
    expect(loadFailed).toMatchObject({ status: "failed", error: expect.stringMatching(/^Edit Load Error/) });
    z.sim.setFaults({ oomAbovePixels: 64 * 64 });
    const oom = await z.waitTask(await z.submit(z.asyncEdit({ prompt: "x" }, png)));
    expect(oom).toMatchObject({ status: "failed", error: expect.stringMatching(/^CUDA out of memory/) });
    const garbage = await z.waitTask(
      await z.submit(z.asyncEdit({ prompt: "x" }, Buffer.from("not an image"))),
    );
    expect(garbage).toMatchObject({
      status: "failed",
      error: expect.stringMatching(/cannot identify image file/),
    });
    // The image is read only after the edit model is loaded.
    expect(z.sim.stats().pipelineLoads).toEqual({ t2i: 0, edit: 1 });
  });

  it("runs out of memory above the pixel budget with a 500 CUDA out of memory detail", async () => {
    await z.start({ faults: { oomAbovePixels: 128 * 128 } });
    expect((await z.generate({ prompt: "x", size: "128x128" })).status).toBe(200);
    const oom = await z.generate({ prompt: "x", size: "256x256" });
    expect(oom.status).toBe(500);
    expect(((await oom.json()) as Json).detail).toMatch(/^CUDA out of memory/);
  });

  it("drops connections and answers failNext on sync and async routes alike", async () => {
    await z.start({ faults: { dropConnections: 2 } });
    await expect(z.generate({ prompt: "x", ...small })).rejects.toThrow();
    await expect(z.post("/v1/images/async_generate", { prompt: "x", ...small })).rejects.toThrow();
    z.sim.setFaults({ failNext: { status: 503, body: { detail: "busy" } } });
    const failed = await z.asyncEdit({ prompt: "x" }, makePng(64, 64));
    expect(failed.status).toBe(503);
    expect(await failed.json()).toEqual({ detail: "busy" });
    expect((await z.generate({ prompt: "x", ...small })).status).toBe(200);
    expect(z.sim.stats().requests.map((r) => r.status)).toEqual(["dropped", "dropped", 503, 200]);
  });

  it("adds latency to a task set through the admin endpoint", async () => {
    await z.start();
    const put = await fetch(`${z.sim.url}/_sim/faults`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ latencyMs: 200 }),
    });
    expect(put.status).toBe(200);
    const id = await z.submit(z.post("/v1/images/async_generate", { prompt: "slow", ...small }));
    expect((await z.waitTask(id)).status).toBe("completed");
    const [rec] = z.sim.stats().requests;
    expect(rec!.finishedAt! - rec!.startedAt!).toBeGreaterThanOrEqual(200);
  });
});
