import { type Cluster, type JobView, startCluster } from "@zimage/test-cluster";
import { afterEach, describe, expect, it } from "vitest";

/** Issue #6 (part): answering with the finished job when it finishes within the requested wait. */
let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

const submit = (c: Cluster, prefer: string) =>
  fetch(`${c.apiUrl}/v1/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json", prefer },
    body: JSON.stringify({ prompt: "while you wait", size: "256x256" }),
  });

describe("wait for the result", () => {
  it("Prefer: wait answers 200 with the finished job when it finishes in time", async () => {
    cluster = await startCluster({ sim: { loadMs: 0, baseMs: 300 } });
    const res = await submit(cluster, "wait=20");
    expect(res.status).toBe(200);
    expect(res.headers.get("preference-applied")).toBe("wait=20");
    const view = (await res.json()) as JobView;
    expect(view.status).toBe("succeeded");
    expect(view.result?.images).toHaveLength(1);
  });

  it("Prefer: wait answers 202 with the job as it stands at the deadline", async () => {
    cluster = await startCluster({ sim: { loadMs: 0, baseMs: 4_000 } });
    const res = await submit(cluster, "wait=1");
    expect(res.status).toBe(202);
    const view = (await res.json()) as JobView;
    expect(["queued", "running"]).toContain(view.status);
    expect(res.headers.get("location")).toBe(`/v1/jobs/${view.id}`);
  });

  it("GET ?wait returns the finished job, and rejects a bad wait", async () => {
    cluster = await startCluster({ sim: { loadMs: 0, baseMs: 300 } });
    const id = await cluster.submit({ prompt: "poll once", size: "256x256" });
    const res = await fetch(`${cluster.apiUrl}/v1/jobs/${id}?wait=20`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as JobView).status).toBe("succeeded");
    for (const bad of ["99", "soon"]) {
      const r = await fetch(`${cluster.apiUrl}/v1/jobs/${id}?wait=${bad}`);
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe("invalid_request");
    }
  });
});
