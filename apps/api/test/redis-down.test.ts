import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestApi, type TestApi } from "./helpers";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await api?.close();
});

it("answers 503 service_unavailable, promptly, while Redis is down and recovers after", async () => {
  await api.redis.kill();
  const started = Date.now();
  const res = await fetch(`${api.url}/v1/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ prompt: "while redis is down" }),
  });
  expect(res.status).toBe(503);
  expect(res.headers.get("retry-after")).toBe("5");
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe("service_unavailable");
  expect(Date.now() - started).toBeLessThan(15_000);
  expect((await fetch(`${api.url}/ready`)).status).toBe(503);

  await api.redis.start();
  // ioredis reconnects on its own; the next submit succeeds once it has.
  const deadline = Date.now() + 15_000;
  let status = 0;
  while (Date.now() < deadline && status !== 202) {
    status = (
      await fetch(`${api.url}/v1/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ prompt: "after restart" }),
      })
    ).status;
    if (status !== 202) await new Promise((r) => setTimeout(r, 100));
  }
  expect(status).toBe(202);
});

it("answers 503 when Redis is out of memory, and submits again once it has room", async () => {
  const { Redis } = await import("ioredis");
  const admin = new Redis(api.redis.url);
  try {
    await admin.config("SET", "maxmemory", "1");
    const res = await fetch(`${api.url}/v1/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "no room" }),
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("service_unavailable");
    await admin.config("SET", "maxmemory", "0");
    const ok = await fetch(`${api.url}/v1/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "room again" }),
    });
    expect(ok.status).toBe(202);
  } finally {
    await admin.config("SET", "maxmemory", "0").catch(() => {});
    admin.disconnect();
  }
});
