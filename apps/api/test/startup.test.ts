import { resolve } from "node:path";
import { freePort, type PrivateRedis, startProcess, startRedis } from "@zimage/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const main = resolve(import.meta.dirname, "../src/main.ts");
let redis: PrivateRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe("api start-up without API keys", () => {
  it("runs in open local mode on loopback and says so loudly", async () => {
    const api = startProcess(process.execPath, ["--import", "tsx", main], {
      env: {
        REDIS_URL: redis.url,
        QUEUE_PREFIX: "startup",
        PORT: String(await freePort()),
        HOST: "127.0.0.1",
      },
    });
    try {
      await api.waitForOutput(/api listening/);
      expect(api.output()).toMatch(/OPEN LOCAL MODE/);
    } finally {
      await api.stop();
    }
  });

  it("refuses to start on a non-loopback address", async () => {
    const api = startProcess(process.execPath, ["--import", "tsx", main], {
      env: { REDIS_URL: redis.url, QUEUE_PREFIX: "startup", PORT: String(await freePort()), HOST: "0.0.0.0" },
    });
    expect(await api.exited).toBe(1);
    expect(api.output()).toMatch(/refusing to start on HOST=0\.0\.0\.0 without API keys/);
    expect(api.output()).not.toMatch(/api listening/);
  });

  it("names the bad variable and exits on invalid configuration", async () => {
    const api = startProcess(process.execPath, ["--import", "tsx", main], { env: { PORT: "eighty" } });
    expect(await api.exited).toBe(1);
    expect(api.output()).toMatch(/PORT="eighty"/);
  });

  it("names a bad secret variable without printing its value", async () => {
    const secret = "admin-secret-value-too-short";
    const api = startProcess(process.execPath, ["--import", "tsx", main], {
      env: { ADMIN_API_KEY: secret, REDIS_URL: "http://:redis-password@redis:6379" },
    });
    expect(await api.exited).toBe(1);
    expect(api.output()).toMatch(/ADMIN_API_KEY: must be at least 32 characters/);
    expect(api.output()).toMatch(/REDIS_URL: must start with redis:\/\//);
    expect(api.output()).not.toContain(secret);
    expect(api.output()).not.toContain("redis-password");
  });
});
