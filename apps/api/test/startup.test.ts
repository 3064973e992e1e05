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
});
