import { type Cluster, type JobView, startCluster } from "@zimage/test-cluster";
import { afterEach, expect, it } from "vitest";

/**
 * Issue #19 §2: interactive jobs run before batch jobs, fair share holds within each class, queue
 * positions stay exact, and a key can be limited to a class.
 */
const ADMIN = "admin-secret-for-priority-classes-0123456789";
let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

type View = JobView & { queue_position: number | null; priority: string; started_at: string | null };

it("runs interactive jobs submitted later ahead of a batch backlog, fair share within each class, positions exact", async () => {
  // No worker yet: the queue holds still while positions are read.
  cluster = await startCluster({
    workers: 0,
    sim: { loadMs: 0, baseMs: 1_000 },
    env: { ADMIN_API_KEY: ADMIN },
  });
  const c = cluster;
  const [alice, bob, carol] = [
    await c.createKey("alice"),
    await c.createKey("bob"),
    await c.createKey("carol"),
  ];
  const created = await c.request("POST", "/v1/admin/keys", {
    key: ADMIN,
    body: { name: "nightly", priority_classes: ["batch"] },
  });
  expect(created.status).toBe(201);
  const nightly = (await created.json()) as { key: string; priority_classes: string[] };
  expect(nightly.priority_classes).toEqual(["batch"]);

  const job = (key: string, name: string, priority?: string) =>
    c.submit({ prompt: name, size: "256x256", ...(priority ? { priority } : {}) }, key);
  // The batch backlog first: alice 3, bob 2.
  const a1 = await job(alice, "a1", "batch");
  const a2 = await job(alice, "a2", "batch");
  const a3 = await job(alice, "a3", "batch");
  const b1 = await job(bob, "b1", "batch");
  const b2 = await job(bob, "b2", "batch");
  // A batch-only key's job is batch without asking; asking for interactive is refused, naming its class.
  const n1 = await job(nightly.key, "n1");
  const refused = await c.request("POST", "/v1/jobs", {
    key: nightly.key,
    body: { prompt: "n2", size: "256x256", priority: "interactive" },
  });
  expect(refused.status).toBe(403);
  const err = ((await refused.json()) as { error: { code: string; message: string } }).error;
  expect(err.code).toBe("priority_not_allowed");
  expect(err.message).toMatch(/may use: batch/);
  // Then interactive jobs: carol 2, alice 1.
  const c1 = await job(carol, "c1");
  const c2 = await job(carol, "c2");
  const ai1 = await job(alice, "ai1", "interactive");

  const keyOf = new Map<string, string>([
    [a1, alice],
    [a2, alice],
    [a3, alice],
    [ai1, alice],
    [b1, bob],
    [b2, bob],
    [n1, nightly.key],
    [c1, carol],
    [c2, carol],
  ]);
  const view = async (id: string) => (await c.view(id, keyOf.get(id))) as View;
  // Interactive first, each class in fair-share order (a newcomer's first job right after the others' first).
  const expected = [c1, ai1, c2, a1, b1, n1, a2, b2, a3];
  const views = await Promise.all(expected.map(view));
  expect(views.map((v) => v.queue_position)).toEqual(expected.map((_, i) => i + 1));
  expect(views.map((v) => v.priority)).toEqual([...Array(3).fill("interactive"), ...Array(6).fill("batch")]);

  await c.startWorker();
  // Under load: while a batch job runs, bob's interactive job goes straight to the front.
  await c.waitFor(a1, ["running"], 30_000, alice);
  const bi1 = await job(bob, "bi1", "interactive");
  keyOf.set(bi1, bob);
  expect((await view(bi1)).queue_position).toBe(1);
  expect((await view(b1)).queue_position).toBe(2);
  expect((await view(a3)).queue_position).toBe(6);

  const all = [...expected, bi1];
  for (const id of all) await c.waitFor(id, ["succeeded"], 60_000, keyOf.get(id));
  const started = await Promise.all(
    all.map(async (id) => ({ id, at: Date.parse((await view(id)).started_at!) })),
  );
  expect(started.sort((x, y) => x.at - y.at).map((s) => s.id)).toEqual([
    c1,
    ai1,
    c2,
    a1,
    bi1,
    b1,
    n1,
    a2,
    b2,
    a3,
  ]);
});
