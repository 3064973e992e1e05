import { type Cluster, type JobView, startCluster } from "@zimage/test-cluster";
import { waitFor } from "@zimage/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { type Receiver, startReceiver } from "./webhook-receiver";

/** Issue #19 §3: `cancel_after` — a job's deadline fires while it is queued and while it runs. */
let cluster: Cluster | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
  await cluster?.stop();
  cluster = undefined;
});

const events = (r: Receiver, id: string) =>
  r.deliveries
    .map((d) => JSON.parse(d.body) as { type: string; data: JobView })
    .filter((e) => e.data.id === id)
    .map((e) => ({ type: e.type, status: e.data.status, code: e.data.error?.code ?? null }));

const imageRequests = (c: Cluster) =>
  c.sims[0]!.stats().requests.filter((r) => r.path.startsWith("/v1/images"));

/** The job's SSE stream read until it ends (the api closes it at the job's final state). */
async function sseViews(url: string): Promise<JobView[]> {
  const res = await fetch(url, { headers: { accept: "text/event-stream" } });
  expect(res.status).toBe(200);
  const views: JobView[] = [];
  let buffer = "";
  const decoder = new TextDecoder();
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
      const data = buffer
        .slice(0, end)
        .split("\n")
        .find((l) => l.startsWith("data: "));
      buffer = buffer.slice(end + 2);
      if (data) views.push(JSON.parse(data.slice(6)) as JobView);
    }
  }
  return views;
}

describe("deadlines", () => {
  it("a job still queued at its deadline ends canceled with deadline_exceeded, announced once under two workers, and is never sent", async () => {
    receiver = await startReceiver(() => 200);
    // Two workers (both sweep deadlines) and one GPU busy with a long job.
    cluster = await startCluster({
      workers: 2,
      sim: { loadMs: 0, baseMs: 4_000 },
      env: { WEBHOOK_ALLOW_PRIVATE: "true", WEBHOOK_RETRY_SCHEDULE: "0.2" },
    });
    const blocker = await cluster.submit({ prompt: "long", size: "256x256" });
    await cluster.waitFor(blocker, ["running"]);
    const id = await cluster.submit({
      prompt: "in a hurry",
      size: "256x256",
      cancel_after: 1.5,
      webhook: { url: receiver.url, events: ["running", "succeeded", "failed", "canceled"] },
    });
    const queued = await cluster.view(id);
    expect(queued).toMatchObject({ status: "queued", queue_position: 1 });
    const deadline = Date.parse((queued as unknown as { deadline_at: string }).deadline_at);
    // Resolved at submit, from the moment the request was read (a few ms before created_at).
    const ahead = deadline - Date.parse((queued as unknown as { created_at: string }).created_at);
    expect(ahead).toBeGreaterThan(1_400);
    expect(ahead).toBeLessThanOrEqual(1_500);
    const stream = sseViews(`${cluster.apiUrl}/v1/jobs/${id}/events`);

    const v = await cluster.waitFor(id, ["canceled", "succeeded", "failed"], 20_000);
    expect(v.status).toBe("canceled");
    expect(v.error?.code).toBe("deadline_exceeded");
    expect(Date.parse(v.completed_at!)).toBeGreaterThanOrEqual(deadline);
    const sse = await stream;
    expect(sse.at(-1)).toMatchObject({ status: "canceled", error: { code: "deadline_exceeded" } });

    await cluster.waitFor(blocker, ["succeeded"], 20_000);
    await waitFor(() => events(receiver!, id).length >= 1, {
      timeoutMs: 20_000,
      what: "the canceled webhook",
    });
    // The GPU finished the blocker and was never asked for the job past its deadline; the next job runs.
    const next = await cluster.submit({ prompt: "after", size: "256x256" });
    await cluster.waitFor(next, ["succeeded"], 20_000);
    expect(imageRequests(cluster)).toHaveLength(2);
    expect(events(receiver, id)).toEqual([
      { type: "job.canceled", status: "canceled", code: "deadline_exceeded" },
    ]);
    // Its listing entry says the same.
    const list = (await (await cluster.request("GET", "/v1/jobs?limit=10")).json()) as { data: JobView[] };
    expect(list.data.find((j) => j.id === id)).toMatchObject({
      status: "canceled",
      error: { code: "deadline_exceeded" },
    });
  });

  it("a job running at its deadline is canceled at once, its result discarded, the GPU asked once, and the next job runs", async () => {
    receiver = await startReceiver(() => 200);
    cluster = await startCluster({
      sim: { loadMs: 0, baseMs: 4_000 },
      env: { WEBHOOK_ALLOW_PRIVATE: "true", WEBHOOK_RETRY_SCHEDULE: "0.2" },
    });
    const id = await cluster.submit({
      prompt: "slow",
      size: "256x256",
      cancel_after: 2,
      webhook: { url: receiver.url, events: ["running", "succeeded", "failed", "canceled"] },
    });
    await cluster.waitFor(id, ["running"]);
    const v = await cluster.waitFor(id, ["canceled", "succeeded", "failed"], 20_000);
    expect(v).toMatchObject({ status: "canceled", error: { code: "deadline_exceeded" }, result: null });
    // Canceled while the GPU still works on it (4 s job, 2 s deadline).
    expect((await cluster.upstreams())[0]?.busy).toBe(true);
    await waitFor(async () => (await cluster!.upstreams())[0]?.busy === false, {
      timeoutMs: 20_000,
      what: "the GPU to finish its image",
    });
    const after = await cluster.view(id);
    expect(after).toMatchObject({ status: "canceled", error: { code: "deadline_exceeded" }, result: null });
    const next = await cluster.submit({ prompt: "next", size: "256x256" });
    await cluster.waitFor(next, ["succeeded"], 20_000);
    expect(imageRequests(cluster)).toHaveLength(2);
    await waitFor(() => events(receiver!, id).length >= 2, { timeoutMs: 20_000, what: "the webhooks" });
    expect(events(receiver, id)).toEqual([
      { type: "job.running", status: "running", code: null },
      { type: "job.canceled", status: "canceled", code: "deadline_exceeded" },
    ]);
  });

  it("refuses a deadline in the past or under a second ahead with a clear 400", async () => {
    cluster = await startCluster({ workers: 0 });
    for (const cancel_after of [new Date(Date.now() - 60_000).toISOString(), 0.5]) {
      const res = await cluster.request("POST", "/v1/jobs", { body: { prompt: "x", cancel_after } });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("invalid_request");
      expect(body.error.message).toMatch(/cancel_after/);
    }
  });
});
