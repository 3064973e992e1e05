import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "./helpers";

/** Issue #17 §5: sign-in from other sites, the Origin's scheme, admin-key rotation, open mode behind a proxy. */
const ADMIN = "admin-key-for-the-session-abuse-tests-0123456789";
let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ adminKey: ADMIN });
});
afterAll(async () => {
  await api?.close();
});

const codeOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

const signIn = (base: string, key: string, headers: Record<string, string> = {}) =>
  fetch(`${base}/v1/session`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ key }),
  });
const adminLogin = (base: string, key: string, headers: Record<string, string> = {}) =>
  fetch(`${base}/admin/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams({ key }).toString(),
    redirect: "manual",
  });
const cookieOf = (res: Response) => (res.headers.get("set-cookie") ?? "").split(";")[0]!;
const submit = (base: string, cookie: string, origin: string) =>
  fetch(`${base}/v1/jobs`, {
    method: "POST",
    headers: { cookie, origin, "content-type": "application/json" },
    body: JSON.stringify({ prompt: "from a browser", size: "128x128" }),
  });

describe("signing in from another site (login CSRF)", () => {
  it("is refused on both sign-in forms, a different scheme on this host included", async () => {
    const https = api.url.replace(/^http:/, "https:");
    const foreign: Array<Record<string, string>> = [
      { origin: "http://evil.example" },
      { origin: https }, // this host and port, but https: not this site
      { origin: "null" }, // a sandboxed frame
      { referer: "http://evil.example/attack.html" }, // an old browser sends only a Referer
    ];
    for (const headers of foreign) {
      for (const attempt of [signIn(api.url, ADMIN, headers), adminLogin(api.url, ADMIN, headers)]) {
        const res = await attempt;
        expect(res.status, JSON.stringify(headers)).toBe(403);
        expect(await codeOf(res)).toBe("forbidden");
        expect(res.headers.get("set-cookie")).toBeNull();
      }
    }
    // This site's own page, and a client that is no browser (no Origin, no cookie to abuse), sign in.
    expect((await signIn(api.url, ADMIN, { origin: api.url })).status).toBe(200);
    expect((await adminLogin(api.url, ADMIN, { origin: api.url })).status).toBe(303);
    expect((await signIn(api.url, ADMIN)).status).toBe(200);
  });

  it("refuses signing out from another site", async () => {
    const cookie = cookieOf(await signIn(api.url, ADMIN));
    const out = await fetch(`${api.url}/admin/logout`, {
      method: "POST",
      headers: { cookie, origin: "http://evil.example" },
      redirect: "manual",
    });
    expect(out.status).toBe(403);
    expect((await fetch(`${api.url}/v1/session`, { headers: { cookie } })).status).toBe(200);
  });
});

describe("the Origin check of a signed-in browser", () => {
  it("compares the scheme, not only the host", async () => {
    const cookie = cookieOf(await signIn(api.url, ADMIN));
    const https = api.url.replace(/^http:/, "https:");
    const refused = await submit(api.url, cookie, https);
    expect(refused.status).toBe(403);
    expect(await codeOf(refused)).toBe("forbidden");
    expect((await submit(api.url, cookie, api.url)).status).toBe(202);
  });

  it("takes the scheme from PUBLIC_URL behind a TLS proxy", async () => {
    // The api speaks plain HTTP to the proxy; browsers are on https.
    const behindTls = await startTestApi({ adminKey: ADMIN, publicUrl: "https://gateway.example" });
    try {
      const cookie = cookieOf(await signIn(behindTls.url, ADMIN));
      const https = behindTls.url.replace(/^http:/, "https:");
      expect((await submit(behindTls.url, cookie, https)).status).toBe(202);
      const plain = await submit(behindTls.url, cookie, behindTls.url);
      expect(plain.status).toBe(403);
      expect(((await plain.json()) as { error: { message: string } }).error.message).toContain(https);
    } finally {
      await behindTls.close();
    }
  });
});

describe("sessions of the bootstrap admin (ADMIN_API_KEY)", () => {
  it("end when ADMIN_API_KEY is rotated or unset", async () => {
    const cookie = cookieOf(await signIn(api.url, ADMIN));
    const board = cookieOf(await adminLogin(api.url, ADMIN));
    const asJson = (c: string) => ({ cookie: c, accept: "application/json" });
    // A stored key exists, so an api without ADMIN_API_KEY is not in open local mode.
    const created = await fetch(`${api.url}/v1/admin/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "someone" }),
    });
    expect(created.status).toBe(201);
    // A second api over the same Redis, as after a deploy with a new key, or without one.
    const rotated = await startTestApi({ adminKey: `${ADMIN}-rotated`, redis: api.redis });
    const unset = await startTestApi({ redis: api.redis });
    try {
      for (const c of [cookie, board]) {
        expect((await fetch(`${api.url}/v1/session`, { headers: asJson(c) })).status).toBe(200);
        for (const other of [rotated, unset]) {
          const session = await fetch(`${other.url}/v1/session`, { headers: asJson(c) });
          expect(session.status).toBe(401);
          expect((await fetch(`${other.url}/admin/queues`, { headers: asJson(c) })).status).toBe(401);
          expect((await fetch(`${other.url}/v1/upstreams`, { headers: asJson(c) })).status).toBe(401);
        }
      }
    } finally {
      await rotated.close();
      await unset.close();
    }
  });
});

describe("open local mode", () => {
  let open: TestApi;
  beforeAll(async () => {
    open = await startTestApi(); // no ADMIN_API_KEY, no key, loopback
  });
  afterAll(async () => {
    await open?.close();
  });

  it("serves a direct request but refuses one that came through a reverse proxy, saying why", async () => {
    expect((await fetch(`${open.url}/v1/jobs`)).status).toBe(200);
    const proxied: Array<Record<string, string>> = [
      { "x-forwarded-for": "203.0.113.5" },
      { forwarded: "for=203.0.113.5;proto=https" },
      { "x-real-ip": "203.0.113.5" },
      { via: "1.1 nginx" },
    ];
    for (const headers of proxied) {
      const res = await fetch(`${open.url}/v1/jobs`, { headers });
      expect(res.status, JSON.stringify(headers)).toBe(401);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe("unauthorized");
      expect(error.message).toMatch(/open local mode.*proxy.*create an API key/);
      const board = await fetch(`${open.url}/admin/queues`, {
        headers: { ...headers, accept: "application/json" },
      });
      expect(board.status).toBe(401);
    }
  });

  it("refuses another site's page, and a page on a name re-pointed at this machine (DNS rebinding)", async () => {
    // A cross-site form post or no-cors fetch carries its Origin; open mode has no cookie to stop it.
    const crossSite = await fetch(`${open.url}/v1/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: "https://evil.example" },
      body: JSON.stringify({ prompt: "from someone else's page", size: "128x128" }),
    });
    expect(crossSite.status).toBe(403);
    // A rebound name is same-origin to the browser: only the Host it names gives it away.
    const rebound = await rawGet(open.url, "/v1/jobs", { host: `evil.example:${new URL(open.url).port}` });
    expect(rebound.status).toBe(401);
    expect(rebound.body).toMatch(/loopback name/);
    for (const host of ["localhost", "127.0.0.1", "[::1]"]) {
      const direct = await rawGet(open.url, "/v1/jobs", { host: `${host}:${new URL(open.url).port}` });
      expect(direct.status, host).toBe(200);
    }
  });

  it("does not come back when the last key is revoked", async () => {
    const created = await fetch(`${open.url}/v1/admin/keys`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "the only key", role: "admin" }),
    });
    expect(created.status).toBe(201);
    const { id, key } = (await created.json()) as { id: string; key: string };
    expect((await fetch(`${open.url}/v1/jobs`)).status).toBe(401);
    const revoked = await fetch(`${open.url}/v1/admin/keys/${id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${key}` },
    });
    expect(revoked.status).toBe(200);
    const after = await fetch(`${open.url}/v1/jobs`);
    expect(after.status).toBe(401);
    expect(await codeOf(after)).toBe("unauthorized");
  });
});

/** A GET with headers fetch() would not send as given (Host). */
function rawGet(base: string, path: string, headers: Record<string, string>) {
  const url = new URL(path, base);
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, headers }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => {
        body += c.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("admin key names", () => {
  it("refuse a lone surrogate, which would break every strict JSON client of the key list", async () => {
    const res = await fetch(`${api.url}/v1/admin/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: `{"name": "bad \\ud800 name", "role": "user"}`,
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toMatch(/well-formed Unicode/);
  });
});
