import { usePrivateRedis, waitFor } from "@zimage/testkit";
import { type RunningSimulator, startSimulator } from "@zimage/zimage-sim";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHandwrittenGateway } from "./gateway";

/** The baseline must do the work it stands for, or the ratios against it mean nothing. */
describe("the hand-written gateway (issue #20's baseline)", () => {
  const redis = usePrivateRedis();
  let sim: RunningSimulator;
  let hand: Awaited<ReturnType<typeof startHandwrittenGateway>>;
  const headers = () => ({ authorization: `Bearer ${hand.token}`, "content-type": "application/json" });
  const post = (body: unknown, h: Record<string, string> = headers()) =>
    fetch(`${hand.url}/v1/jobs`, { method: "POST", headers: h, body: JSON.stringify(body) });

  beforeAll(async () => {
    sim = await startSimulator({ loadMs: 0, baseMs: 10, msPerStepMegapixel: 0 });
    hand = await startHandwrittenGateway(redis.server.url, sim.url);
  });
  afterAll(async () => {
    await hand?.stop();
    await sim?.close();
  });

  it("refuses a request without the shared token", async () => {
    const res = await post({ prompt: "x" }, { "content-type": "application/json" });
    expect(res.status).toBe(401);
    const wrong = await fetch(`${hand.url}/v1/jobs/1`, { headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
  });

  it("validates with the gateway's zod schema", async () => {
    expect((await post({ prompt: "x", size: "1000x1000" })).status).toBe(422);
    expect((await post({ prompt: "x", unknown_field: 1 })).status).toBe(422);
  });

  it("queues a job, forwards it to the simulator, and answers its state and result; 404 for none", async () => {
    const res = await post({ prompt: "a lighthouse", size: "128x128" });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    type View = { id: string; state: string; data: { size: string }; result: { data: unknown[] } | null };
    const read = async () =>
      (await (await fetch(`${hand.url}/v1/jobs/${id}`, { headers: headers() })).json()) as View;
    await waitFor(async () => !["waiting", "active"].includes((await read()).state), {
      timeoutMs: 30_000,
      what: "the hand-written worker to finish the job",
    });
    const view = await read();
    expect(view.state).toBe("completed");
    expect(view.data.size).toBe("128x128");
    expect(view.result?.data).toHaveLength(1);
    expect(sim.stats().requests.filter((r) => r.path === "/v1/images/generations")).toHaveLength(1);
    expect((await fetch(`${hand.url}/v1/jobs/999999`, { headers: headers() })).status).toBe(404);
  });
});
