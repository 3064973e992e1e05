import { type Cluster, startCluster } from "@zimage/test-cluster";
import { waitFor } from "@zimage/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { type Delivery, type Receiver, startReceiver, verify, verifyBySpec } from "./webhook-receiver";

/**
 * Issue #17: rotating the webhook secret must not break receivers that still hold the old one. For
 * WEBHOOK_SECRET_OVERLAP_SECONDS each delivery is signed with both secrets; two independent Standard
 * Webhooks verifiers (the reference library, and one written from the spec) check what a receiver sees.
 */
let cluster: Cluster | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
  await cluster?.stop();
  cluster = undefined;
});

const OVERLAP_SECONDS = 8;

interface Secrets {
  secret: string;
  previous_secrets: { secret: string; expires_at: string }[];
}

const verifiers = [
  ["standardwebhooks", verify],
  ["the spec on node:crypto", verifyBySpec],
] as const;

const verifies = (secret: string, d: Delivery) =>
  verifiers.map(([name, v]) => {
    try {
      v(secret, d);
      return [name, true];
    } catch {
      return [name, false];
    }
  });

describe("webhook secret rotation", () => {
  it("signs with the old and the new secret during the overlap, and with the new one only after", async () => {
    receiver = await startReceiver(() => 204);
    cluster = await startCluster({
      env: { WEBHOOK_ALLOW_PRIVATE: "true", WEBHOOK_SECRET_OVERLAP_SECONDS: String(OVERLAP_SECONDS) },
    });
    const c = cluster;
    const secrets = async (method: string, path: string) =>
      (await (await c.request(method, path)).json()) as Secrets;
    const old = (await secrets("GET", "/v1/webhook-secret")).secret;
    const rotated = await secrets("POST", "/v1/webhook-secret/rotate");
    expect(rotated.secret).not.toBe(old);
    expect(rotated.previous_secrets).toEqual([{ secret: old, expires_at: expect.any(String) }]);
    expect(await secrets("GET", "/v1/webhook-secret")).toEqual(rotated);
    const ends = Date.parse(rotated.previous_secrets[0]!.expires_at);

    const deliveryOf = async (id: string) =>
      waitFor(() => receiver!.deliveries.find((d) => d.body.includes(id)), { timeoutMs: 20_000, what: id });
    const during = await deliveryOf(
      await c.submit({
        prompt: "during",
        size: "128x128",
        webhook: { url: receiver.url, events: ["queued"] },
      }),
    );
    // The delivery was signed within the overlap (8 s is far more than a queued event takes).
    expect(Number(during.headers["webhook-timestamp"]) * 1000).toBeLessThan(ends);
    expect(String(during.headers["webhook-signature"]).split(" ")).toHaveLength(2);
    const both = [
      ["standardwebhooks", true],
      ["the spec on node:crypto", true],
    ];
    expect(verifies(old, during)).toEqual(both); // a receiver holding only the old secret
    expect(verifies(rotated.secret, during)).toEqual(both); // one holding only the new secret

    // The overlap ends: the API stops showing the old secret, and deliveries stop carrying it.
    await waitFor(async () => (await secrets("GET", "/v1/webhook-secret")).previous_secrets.length === 0, {
      timeoutMs: (OVERLAP_SECONDS + 20) * 1000,
      what: "the end of the overlap",
    });
    const after = await deliveryOf(
      await c.submit({
        prompt: "after",
        size: "128x128",
        webhook: { url: receiver.url, events: ["queued"] },
      }),
    );
    expect(verifies(rotated.secret, after)).toEqual(both);
    expect(verifies(old, after)).toEqual([
      ["standardwebhooks", false],
      ["the spec on node:crypto", false],
    ]);
  }, 90_000);
});
