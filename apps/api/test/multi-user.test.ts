import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "./helpers";

/** Issue #5 over HTTP: keys, isolation, listing, limits, fair positions, idempotency, cancel. */
const ADMIN = "admin-key-for-tests-0123456789abcdef";
let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({ adminKey: ADMIN });
});
afterAll(async () => {
  await api?.close();
});

type Json = Record<string, unknown> & { error?: { code: string; message: string } };

async function call(
  method: string,
  path: string,
  key: string | null,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json().catch(() => ({}))) as Json };
}

async function newKey(name: string, limits: Record<string, number> = {}) {
  const res = await call("POST", "/v1/admin/keys", ADMIN, { name, role: "user", ...limits });
  expect(res.status).toBe(201);
  return { id: res.body.id as string, key: res.body.key as string };
}

const submit = (key: string, prompt: string, headers: Record<string, string> = {}) =>
  call("POST", "/v1/jobs", key, { prompt, size: "256x256" }, headers);

describe("authentication", () => {
  it("answers 401 with a clear message for a missing, malformed, unknown or revoked key", async () => {
    const missing = await call("GET", "/v1/jobs", null);
    expect(missing.status).toBe(401);
    expect(missing.body.error?.code).toBe("unauthorized");
    expect(missing.body.error?.message).toMatch(/Authorization: Bearer/);
    expect(missing.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await fetch(`${api.url}/v1/jobs`, { headers: { authorization: "Basic abc" } })).status).toBe(401);
    const unknown = await call("GET", "/v1/jobs", "zk_aaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    expect(unknown.body.error?.code).toBe("invalid_api_key");

    const { id, key } = await newKey("soon revoked");
    expect((await call("GET", "/v1/jobs", key)).status).toBe(200);
    expect((await call("DELETE", `/v1/admin/keys/${id}`, ADMIN)).status).toBe(200);
    const revoked = await call("GET", "/v1/jobs", key);
    expect(revoked.status).toBe(401);
    expect(revoked.body.error?.code).toBe("invalid_api_key");
  });

  it("keeps admin endpoints to admins", async () => {
    const { key } = await newKey("not an admin");
    expect((await call("GET", "/v1/admin/keys", key)).status).toBe(403);
    expect((await call("GET", "/v1/upstreams", key)).status).toBe(403);
    const list = await call("GET", "/v1/admin/keys", ADMIN);
    expect(list.status).toBe(200);
    const names = (list.body.data as Array<{ name: string; key?: string; hash?: string }>).map((k) => k.name);
    expect(names).toContain("not an admin");
    expect(JSON.stringify(list.body)).not.toMatch(/"key"|"hash"/);
  });

  it("validates key creation and limit updates", async () => {
    expect((await call("POST", "/v1/admin/keys", ADMIN, { name: "" })).status).toBe(400);
    expect((await call("POST", "/v1/admin/keys", ADMIN, { name: "x", role: "root" })).status).toBe(400);
    const { id } = await newKey("limited");
    const patched = await call("PATCH", `/v1/admin/keys/${id}`, ADMIN, { max_pending: 7 });
    expect(patched.body).toMatchObject({ max_pending: 7 });
    expect((await call("PATCH", `/v1/admin/keys/${id}`, ADMIN, { max_pending: -1 })).status).toBe(400);
    expect((await call("PATCH", "/v1/admin/keys/zzzzzzzz", ADMIN, { max_pending: 3 })).status).toBe(404);
  });
});

describe("isolation and listing", () => {
  it("a user sees, lists, downloads and cancels only their own jobs; an admin sees all", async () => {
    const alice = await newKey("alice");
    const bob = await newKey("bob");
    const a = await submit(alice.key, "alice's");
    expect(a.status).toBe(202);
    const id = a.body.id as string;
    for (const [method, path] of [
      ["GET", `/v1/jobs/${id}`],
      ["GET", `/v1/jobs/${id}/images/0`],
      ["DELETE", `/v1/jobs/${id}`],
      ["POST", `/v1/jobs/${id}/cancel`],
    ] as const) {
      const res = await call(method, path, bob.key);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.error?.code).toBe("job_not_found");
    }
    expect(((await call("GET", "/v1/jobs", bob.key)).body.data as unknown[]).length).toBe(0);
    expect(
      ((await call("GET", "/v1/jobs", alice.key)).body.data as Array<{ id: string }>).map((j) => j.id),
    ).toEqual([id]);
    expect((await call("GET", `/v1/jobs/${id}`, ADMIN)).status).toBe(200);
    const adminList = (await call("GET", `/v1/jobs?owner=${alice.id}`, ADMIN)).body.data as Array<{
      id: string;
    }>;
    expect(adminList.map((j) => j.id)).toEqual([id]);
    expect((await call("GET", `/v1/jobs?owner=${bob.id}`, alice.key)).status).toBe(403);
  });

  it("owner=me lists the caller's own jobs, admin or not; owner=all is everyone's, for admins only", async () => {
    const carol = await newKey("carol");
    const mine = (await submit(ADMIN, "the admin's own")).body.id as string;
    const carols = (await submit(carol.key, "carol's")).body.id as string;
    const ids = async (path: string, key: string) => {
      const res = await call("GET", path, key);
      expect(res.status, path).toBe(200);
      return (res.body.data as Array<{ id: string }>).map((j) => j.id);
    };
    const adminOwn = await ids("/v1/jobs?owner=me&limit=100", ADMIN);
    expect(adminOwn).toContain(mine);
    expect(adminOwn).not.toContain(carols);
    // Everyone's: the admin's default, and owner=all.
    for (const path of ["/v1/jobs?limit=100", "/v1/jobs?owner=all&limit=100"])
      expect(await ids(path, ADMIN)).toEqual(expect.arrayContaining([mine, carols]));
    expect(await ids("/v1/jobs?owner=me", carol.key)).toEqual([carols]);
    expect(await ids(`/v1/jobs?owner=${carol.id}`, carol.key)).toEqual([carols]);
    const all = await call("GET", "/v1/jobs?owner=all", carol.key);
    expect([all.status, all.body.error?.code]).toEqual([403, "forbidden"]);
  });

  it("pages newest first with a cursor that is stable while jobs arrive, and filters", async () => {
    const { key } = await newKey("pager");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await submit(key, `page ${i}`)).body.id as string);
    const p1 = await call("GET", "/v1/jobs?limit=2", key);
    expect((p1.body.data as Array<{ id: string }>).map((j) => j.id)).toEqual([ids[4], ids[3]]);
    expect(p1.body.has_more).toBe(true);
    await submit(key, "arrives between pages");
    const p2 = await call("GET", `/v1/jobs?limit=2&cursor=${p1.body.next_cursor}`, key);
    expect((p2.body.data as Array<{ id: string }>).map((j) => j.id)).toEqual([ids[2], ids[1]]);
    const p3 = await call("GET", `/v1/jobs?limit=2&cursor=${p2.body.next_cursor}`, key);
    expect((p3.body.data as Array<{ id: string }>).map((j) => j.id)).toEqual([ids[0]]);
    expect(p3.body).toMatchObject({ has_more: false, next_cursor: null });

    await call("DELETE", `/v1/jobs/${ids[1]}`, key);
    const canceled = await call("GET", "/v1/jobs?status=canceled", key);
    expect((canceled.body.data as Array<{ id: string }>).map((j) => j.id)).toEqual([ids[1]]);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect(((await call("GET", `/v1/jobs?created_after=${future}`, key)).body.data as unknown[]).length).toBe(
      0,
    );
    for (const bad of [
      "limit=0",
      "limit=abc",
      "status=done",
      "cursor=../x",
      "created_after=yesterday",
      "color=red",
    ]) {
      const res = await call("GET", `/v1/jobs?${bad}`, key);
      expect(res.status, bad).toBe(400);
      expect(res.body.error?.code).toBe("invalid_request");
    }
  });
});

describe("limits", () => {
  it("rate-limits submits with 429, Retry-After and nothing enqueued", async () => {
    const { key } = await newKey("hasty", { rate_per_minute: 3 });
    for (let i = 0; i < 3; i++) expect((await submit(key, `ok ${i}`)).status).toBe(202);
    const limited = await submit(key, "one too many");
    expect(limited.status).toBe(429);
    expect(limited.body.error?.code).toBe("rate_limited");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(((await call("GET", "/v1/jobs", key)).body.data as unknown[]).length).toBe(3);
  });

  it("caps pending jobs with 429 too_many_pending_jobs, and frees a slot on cancel", async () => {
    const { key } = await newKey("greedy", { max_pending: 2 });
    const first = await submit(key, "1");
    await submit(key, "2");
    const third = await submit(key, "3");
    expect(third.status).toBe(429);
    expect(third.body.error?.code).toBe("too_many_pending_jobs");
    expect(third.headers.get("retry-after")).toBeTruthy();
    await call("DELETE", `/v1/jobs/${first.body.id}`, key);
    expect((await submit(key, "3 again")).status).toBe(202);
  });
});

describe("fair queue positions", () => {
  it("puts a second user's first job behind the first user's first job only", async () => {
    const heavy = await newKey("heavy");
    const light = await newKey("light");
    const heavyIds: string[] = [];
    for (let i = 0; i < 4; i++) heavyIds.push((await submit(heavy.key, `heavy ${i}`)).body.id as string);
    const lightJob = await submit(light.key, "light 0");
    const lightPos = lightJob.body.queue_position as number;
    const heavyPos = await Promise.all(
      heavyIds.map(
        async (id) => (await call("GET", `/v1/jobs/${id}`, heavy.key)).body.queue_position as number,
      ),
    );
    // The light user's job sits right after the heavy user's first: every other heavy job is behind it.
    expect(heavyPos[0]).toBeLessThan(lightPos);
    for (const p of heavyPos.slice(1)) expect(p).toBeGreaterThan(lightPos);
    expect(new Set([...heavyPos, lightPos]).size).toBe(5);
  });
});

describe("idempotency", () => {
  it("returns the same job for a retried request and 409 for a different body", async () => {
    const { key } = await newKey("retrier");
    const first = await submit(key, "once", { "idempotency-key": "req-42" });
    expect(first.status).toBe(202);
    const again = await submit(key, "once", { "idempotency-key": "req-42" });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    const other = await submit(key, "something else", { "idempotency-key": "req-42" });
    expect(other.status).toBe(409);
    expect(other.body.error?.code).toBe("idempotency_key_reused");
    expect(((await call("GET", "/v1/jobs", key)).body.data as unknown[]).length).toBe(1);
    const bad = await submit(key, "x", { "idempotency-key": "x".repeat(300) });
    expect(bad.status).toBe(400);
    expect(bad.body.error?.code).toBe("invalid_idempotency_key");
  });

  it("a retry after a submit that failed midway queues the job once, under the first attempt's id", async () => {
    const { key } = await newKey("half-done");
    const first = await submit(key, "cut off", { "idempotency-key": "req-cut" });
    expect(first.status).toBe(202);
    const id = first.body.id as string;
    // What a Redis crash mid-submit can leave: the claim on the key, but no job.
    await (await api.queue.getJob(id))?.remove();
    const retry = await submit(key, "cut off", { "idempotency-key": "req-cut" });
    expect(retry.status).toBe(202);
    expect(retry.body.id).toBe(id);
    expect(await api.queue.getJobState(id)).not.toBe("unknown");
    const again = await submit(key, "cut off", { "idempotency-key": "req-cut" });
    expect([again.status, again.body.id]).toEqual([200, id]);
  });

  it("scopes keys per user", async () => {
    const a = await newKey("idem a");
    const b = await newKey("idem b");
    const ja = await submit(a.key, "same", { "idempotency-key": "shared" });
    const jb = await submit(b.key, "same", { "idempotency-key": "shared" });
    expect(jb.status).toBe(202);
    expect(jb.body.id).not.toBe(ja.body.id);
  });
});

describe("cancel", () => {
  it("cancels a queued job, which then reads as canceled; a second cancel is harmless", async () => {
    const { key } = await newKey("canceller");
    const id = (await submit(key, "never mind")).body.id as string;
    const res = await call("DELETE", `/v1/jobs/${id}`, key);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, status: "canceled", error: { code: "job_canceled" } });
    expect((await call("GET", `/v1/jobs/${id}`, key)).body.status).toBe("canceled");
    expect((await call("POST", `/v1/jobs/${id}/cancel`, key)).status).toBe(200);
    expect((await call("GET", `/v1/jobs/${id}/images/0`, key)).status).toBe(404);
  });
});

describe("webhook URLs at submit", () => {
  it("refuses private, loopback, metadata and non-http targets with 400 webhook_url_forbidden", async () => {
    const { key } = await newKey("hooks");
    for (const url of [
      "http://127.0.0.1/hook",
      "http://169.254.169.254/latest/meta-data/",
      "http://[::1]/",
      "http://10.0.0.1/",
      "http://localhost/",
      "file:///etc/passwd",
      "ftp://example.com/",
    ]) {
      const res = await call("POST", "/v1/jobs", key, { prompt: "x", webhook: { url } });
      expect(res.status, url).toBe(400);
      expect(res.body.error?.code).toBe("webhook_url_forbidden");
    }
    const badEvents = await call("POST", "/v1/jobs", key, {
      prompt: "x",
      webhook: { url: "https://8.8.8.8/", events: ["done"] },
    });
    expect(badEvents.body.error?.code).toBe("invalid_request");
    const secret = await call("GET", "/v1/webhook-secret", key);
    const rotated = await call("POST", "/v1/webhook-secret/rotate", key);
    expect(secret.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(secret.body.secret);
    expect((await call("GET", "/v1/webhook-secret", key)).body.secret).toBe(rotated.body.secret);
  });
});
