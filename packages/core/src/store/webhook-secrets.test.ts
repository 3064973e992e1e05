import { usePrivateRedis } from "@zimage/testkit";
import { describe, expect, it } from "vitest";
import { rotateWebhookSecret, webhookSecrets, webhookSigningSecrets } from "./webhook-secrets";

const redis = usePrivateRedis();

describe("webhook secret rotation", () => {
  it("keeps the replaced secret signing until the overlap ends, then only the new one", async () => {
    const t0 = Date.now();
    const old = (await webhookSecrets(redis.conn, "t", "k1")).secret;
    const rotated = await rotateWebhookSecret(redis.conn, "t", "k1", 3600, t0);
    expect(rotated.secret).not.toBe(old);
    expect(rotated.previous).toEqual([{ secret: old, expiresAt: new Date(t0 + 3_600_000) }]);
    expect(await webhookSigningSecrets(redis.conn, "t", "k1")).toEqual([rotated.secret, old]);
    expect((await webhookSecrets(redis.conn, "t", "k1", t0 + 3_599_999)).previous).toHaveLength(1);
    expect((await webhookSecrets(redis.conn, "t", "k1", t0 + 3_600_000)).previous).toEqual([]);
    // The key holding replaced secrets expires with the last of them.
    const ttl = await redis.conn.pttl("t:webhook-secret-previous:k1");
    expect(ttl).toBeGreaterThan(3_500_000);
  });

  it("keeps each replaced secret until its own end when rotated again during an overlap", async () => {
    const t0 = Date.now();
    const first = (await webhookSecrets(redis.conn, "t", "k2")).secret;
    const second = (await rotateWebhookSecret(redis.conn, "t", "k2", 600, t0)).secret;
    const third = await rotateWebhookSecret(redis.conn, "t", "k2", 600, t0 + 1000);
    expect(third.previous.map((p) => p.secret)).toEqual([second, first]);
    expect(await webhookSigningSecrets(redis.conn, "t", "k2")).toEqual([third.secret, second, first]);
  });

  it("ends the old secret at once with no overlap", async () => {
    await webhookSecrets(redis.conn, "t", "k3");
    const rotated = await rotateWebhookSecret(redis.conn, "t", "k3", 0);
    expect(rotated.previous).toEqual([]);
    expect(await webhookSigningSecrets(redis.conn, "t", "k3")).toEqual([rotated.secret]);
  });
});
