import { type Cluster, startCluster } from "@zimage/test-cluster";
import { waitFor } from "@zimage/testkit";
import { afterEach, describe, expect, it } from "vitest";

/** LEASE_SPREAD_SECONDS: upstreams spread over worker processes instead of all going to the first one up. */
let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

const ADMIN = "admin-key-for-the-lease-spread-tests-0123456789";
const processOf = (owner: unknown) => String(owner).split(":").slice(0, 2).join(":");

async function owners(c: Cluster): Promise<string[]> {
  return (await c.upstreams()).map((u) => (u.owner ? processOf(u.owner) : "none"));
}

describe("lease spreading", () => {
  it("gives two workers one upstream each, even when one worker is up first", async () => {
    cluster = await startCluster({
      upstreams: 2,
      workers: 1,
      // Longer than a worker process takes to start on a loaded machine, so the second worker is
      // always up before the first may take the second lease.
      env: { ADMIN_API_KEY: ADMIN, LEASE_SPREAD_SECONDS: "30" },
    });
    // The first worker takes one lease at once and waits before taking a second...
    await waitFor(async () => (await owners(cluster!)).filter((o) => o !== "none").length === 1, {
      what: "one lease taken",
    });
    // ...so a second worker started meanwhile gets the other.
    await cluster.startWorker();
    const taken = await waitFor(
      async () => {
        const o = await owners(cluster!);
        return o.every((x) => x !== "none") ? o : null;
      },
      { timeoutMs: 15_000, what: "both leases taken" },
    );
    expect(new Set(taken).size).toBe(2);
  });

  it("still lets a lone worker serve every upstream, after the spread delay", async () => {
    cluster = await startCluster({
      upstreams: 2,
      workers: 1,
      env: { ADMIN_API_KEY: ADMIN, LEASE_SPREAD_SECONDS: "0.5" },
    });
    const taken = await waitFor(
      async () => {
        const o = await owners(cluster!);
        return o.every((x) => x !== "none") ? o : null;
      },
      { timeoutMs: 15_000, what: "both leases taken" },
    );
    expect(new Set(taken).size).toBe(1);
    const ids = await Promise.all([
      cluster.submit({ prompt: "a" }, ADMIN),
      cluster.submit({ prompt: "b" }, ADMIN),
    ]);
    for (const id of ids)
      expect((await cluster.waitFor(id, undefined, 30_000, ADMIN)).status).toBe("succeeded");
  });
});
