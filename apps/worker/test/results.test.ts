import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { type Cluster, startCluster } from "@zimage/test-cluster";
import { pngSize, waitFor } from "@zimage/testkit";
import { afterEach, describe, expect, it } from "vitest";

/** Issue #6 (part): signed expiring image URLs and RESULT_TTL retention. */
const ADMIN = "results-admin-key-0123456789abcdef012345";
let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

describe("signed image URLs", () => {
  it("open the image without a key, and only that image, until they expire", async () => {
    cluster = await startCluster({ env: { ADMIN_API_KEY: ADMIN, RESULT_URL_TTL_SECONDS: "3" } });
    const key = await cluster.createKey("owner");
    const id = await cluster.submit({ prompt: "share me", size: "256x256", n: 2 }, key);
    const done = await cluster.waitFor(id, ["succeeded"], 20_000, key);
    const [first, second] = done.result!.images.map((i) => new URL(i.url));
    expect(first!.searchParams.get("sig")).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const anonymous = await fetch(first!);
    expect(anonymous.status).toBe(200);
    expect(pngSize(Buffer.from(await anonymous.arrayBuffer()))).toEqual({ width: 256, height: 256 });
    expect((await fetch(`${first!.origin}${first!.pathname}`)).status).toBe(401);

    const otherImage = new URL(first!);
    otherImage.pathname = second!.pathname;
    const wrongImage = await fetch(otherImage);
    expect(wrongImage.status).toBe(403);
    expect(await errorCode(wrongImage)).toBe("signed_url_invalid");
    const tampered = new URL(first!);
    tampered.searchParams.set("expires", String(Number(first!.searchParams.get("expires")) + 3600));
    expect(await errorCode(await fetch(tampered))).toBe("signed_url_invalid");

    const expired = await waitFor(
      async () => {
        const res = await fetch(first!);
        return res.status === 403 ? res : null;
      },
      { timeoutMs: 10_000, intervalMs: 250, what: "the link to expire" },
    );
    expect(await errorCode(expired)).toBe("signed_url_expired");
  });
});

describe("retention", () => {
  it("deletes jobs and images past RESULT_TTL, answers 410 to their owner, and keeps newer ones", async () => {
    cluster = await startCluster({
      env: { ADMIN_API_KEY: ADMIN, RESULT_TTL: "4", SWEEP_INTERVAL_SECONDS: "0.3" },
    });
    const key = await cluster.createKey("owner");
    const stranger = await cluster.createKey("stranger");
    const old = await cluster.waitFor(
      await cluster.submit({ prompt: "old", size: "256x256" }, key),
      ["succeeded"],
      20_000,
      key,
    );
    const oldAt = Date.parse(old.completed_at!);
    // One image, named for the run that produced it (`<run>-<index>.png`).
    expect(await readdir(join(cluster.dataDir, "results", old.id))).toEqual([
      expect.stringMatching(/^\d+-0\.png$/),
    ]);
    await waitFor(() => Date.now() - oldAt > 2_500, { what: "the old job to age" });
    const recent = await cluster.waitFor(
      await cluster.submit({ prompt: "new", size: "256x256" }, key),
      ["succeeded"],
      20_000,
      key,
    );

    const gone = await waitFor(
      async () => {
        const res = await cluster!.request("GET", `/v1/jobs/${old.id}`, { key });
        return res.status === 410 ? res : null;
      },
      { timeoutMs: 15_000, what: "the old job to be swept" },
    );
    expect(await errorCode(gone)).toBe("job_gone");
    // Past its TTL: deleted. Within it: untouched.
    expect(await readdir(join(cluster.dataDir, "results", old.id)).catch(() => [])).toEqual([]);
    expect(Date.now() - Date.parse(recent.completed_at!)).toBeLessThan(4_000);
    expect((await cluster.request("GET", `/v1/jobs/${recent.id}`, { key })).status).toBe(200);
    expect(await readdir(join(cluster.dataDir, "results", recent.id))).toEqual([
      expect.stringMatching(/^\d+-0\.png$/),
    ]);
    // Someone else's swept job is still just "not found".
    expect((await cluster.request("GET", `/v1/jobs/${old.id}`, { key: stranger })).status).toBe(404);
  });
});
