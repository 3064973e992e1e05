import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "./helpers";

/** Issue #10, auth abuse: key guessing is limited per client IP; one user's flood cannot bury another. */
const ADMIN = "admin-key-for-the-auth-abuse-tests-0123456789";
let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({
    adminKey: ADMIN,
    authFailureLimits: { maxFailures: 5, windowSeconds: 60 },
    // Behind a proxy on loopback: X-Forwarded-For names the client, so tests can be several clients.
    trustProxy: "loopback",
    ratePerMinute: 100_000,
    maxPending: 100_000,
  });
});
afterAll(async () => {
  await api?.close();
});

const from = (ip: string, key: string) => ({ authorization: `Bearer ${key}`, "x-forwarded-for": ip });
const get = (path: string, headers: Record<string, string>) => fetch(`${api.url}${path}`, { headers });
const guess = (i: number) => `zk_abcdefgh_${String(i).padStart(32, "x")}`;

describe("brute force on API keys", () => {
  it("blocks an IP after too many wrong keys, even for a right key, and only that IP", async () => {
    const attacker = "198.51.100.7";
    for (let i = 0; i < 5; i++) {
      const res = await get("/v1/jobs", from(attacker, guess(i)));
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_api_key");
    }
    const blocked = await get("/v1/jobs", from(attacker, guess(5)));
    expect(blocked.status).toBe(429);
    expect(((await blocked.json()) as { error: { code: string } }).error.code).toBe("too_many_auth_failures");
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    // A right guess no longer helps from there.
    expect((await get("/v1/jobs", from(attacker, ADMIN))).status).toBe(429);
    // The admin login form is covered by the same limit.
    const login = await fetch(`${api.url}/admin/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": attacker },
      body: `key=${encodeURIComponent(ADMIN)}`,
      redirect: "manual",
    });
    expect(login.status).toBe(429);
    expect(await login.text()).toMatch(/too many invalid API keys/);
    // Everyone else is unaffected.
    expect((await get("/v1/jobs", from("203.0.113.9", ADMIN))).status).toBe(200);
    expect((await get("/v1/jobs", from("203.0.113.9", guess(9)))).status).toBe(401);
  });

  it("does not count a valid key's requests", async () => {
    for (let i = 0; i < 20; i++) expect((await get("/v1/jobs", from("192.0.2.44", ADMIN))).status).toBe(200);
  });
});

describe("fair share under a flood", () => {
  async function key(name: string): Promise<string> {
    const res = await fetch(`${api.url}/v1/admin/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ name }),
    });
    return ((await res.json()) as { key: string }).key;
  }
  const submit = async (k: string, prompt: string) => {
    const res = await fetch(`${api.url}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${k}`, "content-type": "application/json" },
      body: JSON.stringify({ prompt, size: "128x128" }),
    });
    expect(res.status).toBe(202);
    return (await res.json()) as { id: string };
  };
  const position = async (k: string, id: string) =>
    (
      (await (await get(`/v1/jobs/${id}`, { authorization: `Bearer ${k}` })).json()) as {
        queue_position: number;
      }
    ).queue_position;

  it("keeps another user's job second in line, before and after the flood", async () => {
    const [flooder, other] = [await key("flooder"), await key("other")];
    for (let i = 0; i < 150; i++) await submit(flooder, `flood ${i}`);
    const job = await submit(other, "just one");
    // Nothing is running (no worker here), so the queue only grows; the job must not sink in it.
    // Second: the flooder's first job arrived first with the same fair-share slot.
    expect(await position(other, job.id)).toBe(2);
    for (let i = 0; i < 150; i++) await submit(flooder, `more flood ${i}`);
    expect(await position(other, job.id)).toBe(2);
  });
});
