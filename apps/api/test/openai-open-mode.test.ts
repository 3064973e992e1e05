import { type Cluster, startCluster } from "@zimage/test-cluster";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Issue #19: the official `openai` SDK always sends a bearer key. On a fresh install (open local mode:
 * no key exists, loopback only) any key is the local admin, without counting toward the per-IP block;
 * once a key exists, every key is checked again.
 */
let cluster: Cluster;

beforeAll(async () => {
  // A low per-IP limit: if open mode counted bearer keys as failures, the third request would be 429.
  cluster = await startCluster({ env: { AUTH_FAILURES_PER_IP: "2", AUTH_FAILURE_WINDOW_SECONDS: "600" } });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

const sdk = (apiKey: string, headers?: Record<string, string>) =>
  new OpenAI({ apiKey, baseURL: `${cluster.apiUrl}/v1`, maxRetries: 0, defaultHeaders: headers });

async function failure(call: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  const err = await call.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OpenAI.APIError);
  return err as InstanceType<typeof OpenAI.APIError>;
}

describe("the OpenAI SDK in open local mode", () => {
  it("works with any key while no key exists, and stops once one does", async () => {
    const anyKey = sdk("sk-whatever-the-sdk-insists-on");
    for (let i = 0; i < 4; i++) expect((await anyKey.models.list()).data.length).toBeGreaterThan(0);
    const res = await anyKey.images.generate({
      prompt: "open mode",
      size: "128x128",
      response_format: "b64_json",
    });
    expect(res.data).toHaveLength(1);
    // The native API takes it too: the key stands for the local admin.
    const me = await cluster.request("GET", "/v1/jobs", { key: "sk-whatever-the-sdk-insists-on" });
    expect(me.status).toBe(200);

    // Still loopback only: a request that came through a proxy is refused, and says why.
    const proxied = await failure(sdk("sk-x", { "x-forwarded-for": "203.0.113.5" }).models.list());
    expect([proxied.status, proxied.code]).toEqual([401, "unauthorized"]);
    expect(proxied.message).toMatch(/proxy/);

    // The local admin creates the first key: open mode ends for good.
    const created = await cluster.request("POST", "/v1/admin/keys", {
      key: "sk-anything",
      body: { name: "first", role: "admin" },
    });
    expect(created.status).toBe(201);
    const { key } = (await created.json()) as { key: string };
    const refused = await failure(anyKey.models.list());
    expect(refused).toBeInstanceOf(OpenAI.AuthenticationError);
    expect([refused.code, refused.type]).toEqual(["invalid_api_key", "authentication_error"]);
    expect(refused.message).toMatch(/open local mode.*ended/);
    expect((await sdk(key).models.list()).data.length).toBeGreaterThan(0);
  });
});
