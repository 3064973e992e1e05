import { appendFile, mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { createApiKey, findApiKey, tokensEqual } from "@zimage/core";
import { startRedis } from "@zimage/testkit";
import { Redis } from "ioredis";
import { expect, it } from "vitest";

/**
 * Issue #10: the time to check a key must not depend on how much of it is right. Measured, not
 * asserted on: medians go to .data/chaos/results.jsonl and docs/reliability.md.
 */
const RESULTS = resolve(import.meta.dirname, "../../../.data/chaos/results.jsonl");

function medianNs(fn: () => void, n = 20_000): number {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t));
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(n / 2)]!;
}

async function medianAsyncUs(fn: () => Promise<unknown>, n = 2_000): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(n / 2)]! * 10) / 10;
}

it("key checks take the same time wherever a wrong key differs", async () => {
  const secret = "admin-key-0123456789abcdefghijklmnopqrstuvwxyz";
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "x" ? "y" : "x") + s.slice(i + 1);
  const admin = {
    right: medianNs(() => tokensEqual(secret, secret)),
    firstCharWrong: medianNs(() => tokensEqual(flip(secret, 0), secret)),
    lastCharWrong: medianNs(() => tokensEqual(flip(secret, secret.length - 1), secret)),
  };
  const redisServer = await startRedis({ appendonly: false });
  const redis = new Redis(redisServer.url);
  try {
    const { key } = await createApiKey(redis, "t", {
      name: "timing",
      role: "user",
      rate_per_minute: 1,
      max_pending: 1,
      priority_weight: 1,
    });
    const lookups = {
      right: await medianAsyncUs(() => findApiKey(redis, "t", key)),
      firstSecretCharWrong: await medianAsyncUs(() => findApiKey(redis, "t", flip(key, 12))),
      lastCharWrong: await medianAsyncUs(() => findApiKey(redis, "t", flip(key, key.length - 1))),
    };
    const row = { fault: "key comparison timing", adminKeyCompareNs: admin, apiKeyLookupUs: lookups };
    await mkdir(dirname(RESULTS), { recursive: true });
    await appendFile(RESULTS, `${JSON.stringify({ ...row, at: new Date().toISOString() })}\n`);
    process.stdout.write(`CHAOS ${JSON.stringify(row)}\n`);
    expect(lookups.right).toBeGreaterThan(0);
  } finally {
    redis.disconnect();
    await redisServer.stop();
  }
});
