import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { type Cluster, startCluster } from "@zimage/test-cluster";
import { freePort, waitFor } from "@zimage/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** `zimage deliveries`, `zimage redeliver` and `zimage dead-letters` as a subprocess (issue #19). */
const root = resolve(import.meta.dirname, "../../..");
const ADMIN = "admin-key-for-the-cli-delivery-tests-0123456789";
let cluster: Cluster;
let key: string;

beforeAll(async () => {
  cluster = await startCluster({
    env: { ADMIN_API_KEY: ADMIN, WEBHOOK_ALLOW_PRIVATE: "true", WEBHOOK_RETRY_SCHEDULE: "0.2,0.2" },
  });
  key = await cluster.createKey("cli-hooks");
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

async function zimage(
  args: string[],
  apiKey = key,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [resolve(root, "apps/cli/bin/zimage.mjs"), ...args],
      {
        env: { ...process.env, ZIMAGE_GATEWAY_URL: cluster.apiUrl, ZIMAGE_API_KEY: apiKey },
        timeout: 60_000,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("zimage webhook delivery commands", () => {
  it("shows a job's attempts, lists it as a dead letter for an admin, and redelivers it", async () => {
    const url = `http://127.0.0.1:${await freePort()}/hook`;
    const id = await cluster.submit({ prompt: "no receiver", size: "128x128", webhook: { url } }, key);
    // Polled over HTTP (a CLI run costs seconds); the CLI then reads the settled state.
    await waitFor(
      async () =>
        (await (await cluster.request("GET", "/v1/admin/deliveries", { key: ADMIN })).text()).includes(
          `"${id}-succeeded"`,
        ),
      { timeoutMs: 30_000, what: "the dead letter" },
    );
    const letters = await zimage(["dead-letters"], ADMIN);
    expect(letters.code).toBe(0);
    expect(letters.stdout).toMatch(new RegExp(`${id}\\s+succeeded\\s+\\S+\\s+3\\s+.*ECONNREFUSED`));
    expect((await zimage(["dead-letters"])).code).toBe(3);

    const shown = await zimage(["deliveries", id]);
    expect(shown.code).toBe(0);
    expect(shown.stdout.split("\n").filter((l) => l.startsWith("succeeded"))).toHaveLength(3);

    const again = await zimage(["redeliver", id, "succeeded"]);
    expect([again.code, again.stdout]).toEqual([
      0,
      `${id}-succeeded queued again (redelivery 1, was exhausted)\n`,
    ]);
    await waitFor(
      async () =>
        (await (await cluster.request("GET", `/v1/jobs/${id}/deliveries`, { key })).text()).includes(
          '"redelivery":1',
        ),
      { timeoutMs: 30_000, what: "the redelivery's attempt" },
    );
    expect((await zimage(["deliveries", id])).stdout).toMatch(/^succeeded\s+1 \(redelivery 1\)/m);
    expect((await zimage(["redeliver", id])).code).toBe(2);
    expect((await zimage(["redeliver", id, "exploded"])).code).toBe(2);
    const never = await zimage(["redeliver", id, "queued", "--json"]);
    expect(never.code).toBe(3);
    expect(JSON.parse(never.stdout)).toMatchObject({ error: { code: "delivery_not_found" } });
  });
});
