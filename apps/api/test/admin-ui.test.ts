import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "./helpers";

const ADMIN = "admin-key-for-ui-tests-0123456789abcdef";
let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ adminKey: ADMIN });
});
afterAll(async () => {
  await api?.close();
});

const login = (key: string) =>
  fetch(`${api.url}/admin/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ key }).toString(),
    redirect: "manual",
  });
const cookieOf = (res: Response) => (res.headers.get("set-cookie") ?? "").split(";")[0]!;

describe("queue admin UI", () => {
  it("is 401 without admin auth and 200 with an admin bearer key", async () => {
    const anon = await fetch(`${api.url}/admin/queues`, { headers: { accept: "application/json" } });
    expect(anon.status).toBe(401);
    expect(((await anon.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    const asAdmin = await fetch(`${api.url}/admin/queues`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(asAdmin.status).toBe(200);
    expect(await asAdmin.text()).toMatch(/<html/i);
  });

  it("refuses a user key", async () => {
    const created = await fetch(`${api.url}/v1/admin/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "just a user" }),
    });
    const { key } = (await created.json()) as { key: string };
    const res = await fetch(`${api.url}/admin/queues`, {
      headers: { authorization: `Bearer ${key}`, accept: "application/json" },
    });
    expect(res.status).toBe(403);
    expect((await login(key)).status).toBe(401);
  });

  it("sends browsers to a login page and keeps them signed in with an HttpOnly cookie", async () => {
    const redirect = await fetch(`${api.url}/admin/queues`, {
      headers: { accept: "text/html" },
      redirect: "manual",
    });
    expect(redirect.status).toBe(303);
    expect(redirect.headers.get("location")).toBe("/admin/login");
    const page = await fetch(`${api.url}/admin/login`);
    const html = await page.text();
    expect(html).toMatch(/<form method="post" action="\/admin\/login" class="card">/);
    // The console's look: its built stylesheet from this origin, or (console not built) an inline copy.
    const linked = /<link rel="stylesheet" href="\/assets\/[\w.-]+\.css">/.test(html);
    expect(linked || html.includes("<style>:root{--bg:#f6f7fb")).toBe(true);
    expect(page.headers.get("content-security-policy")).toBe(
      `default-src 'none'; style-src ${linked ? "'self'" : "'unsafe-inline'"}; form-action 'self'`,
    );

    expect((await login("wrong")).status).toBe(401);
    const ok = await login(ADMIN);
    expect(ok.status).toBe(303);
    const cookie = ok.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/zg_session=[A-Za-z0-9_-]{43}/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).not.toContain(ADMIN);
    const session = cookie.split(";")[0]!;
    const board = await fetch(`${api.url}/admin/queues`, { headers: { cookie: session } });
    expect(board.status).toBe(200);
    const queues = await fetch(`${api.url}/admin/queues/api/queues`, { headers: { cookie: session } });
    expect(queues.status).toBe(200);
    expect(JSON.stringify(await queues.json())).toContain("generate");

    await fetch(`${api.url}/admin/logout`, {
      method: "POST",
      headers: { cookie: session },
      redirect: "manual",
    });
    const after = await fetch(`${api.url}/admin/queues`, {
      headers: { cookie: session, accept: "application/json" },
    });
    expect(after.status).toBe(401);
  });
});

describe("queue admin writes (issue #17)", () => {
  it("are refused for everyone, before bull-board sees them: the board only reads", async () => {
    const job = await api.queue.add("generate", { prompt: "stays put" }, { jobId: "read-only-probe" });
    await api.queue.add("generate", { prompt: "later" }, { jobId: "delayed-probe", delay: 3_600_000 });
    const countsBefore = await api.queue.getJobCounts();
    const cookie = cookieOf(await login(ADMIN));
    const base = `${api.url}/admin/queues/api/queues`;
    const writes: Array<[string, string, unknown?]> = [
      ["PUT", `${base}/generate/pause`],
      ["PUT", `${base}/pause`],
      ["POST", `${base}/generate/add`, { name: "generate", data: { prompt: "smuggled" } }],
      ["PUT", `${base}/generate/${job.id}/clean`],
      ["PUT", `${base}/generate/delayed-probe/promote`],
      ["PUT", `${base}/generate/promote`],
      ["PUT", `${base}/generate/retry/failed`],
      ["PUT", `${base}/generate/clean/waiting`],
      ["PUT", `${base}/generate/empty`],
      ["PUT", `${base}/generate/obliterate`],
      ["PATCH", `${base}/generate/${job.id}/update-data`, { prompt: "edited" }],
      ["DELETE", `${base}/generate/${job.id}`],
    ];
    // A signed-in admin's browser on another site (the CSRF), on this one, and an admin key.
    const callers: Array<Record<string, string>> = [
      { cookie, origin: "http://evil.example" },
      { cookie, origin: api.url },
      { authorization: `Bearer ${ADMIN}` },
    ];
    for (const [method, url, body] of writes) {
      for (const headers of callers) {
        const res = await fetch(url, {
          method,
          headers: { ...headers, "content-type": "application/json", accept: "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        expect(res.status, `${method} ${url}`).toBe(405);
        expect(res.headers.get("allow")).toBe("GET, HEAD");
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe("method_not_allowed");
      }
    }
    expect(await api.queue.isPaused()).toBe(false);
    expect(await api.queue.getJobCounts()).toEqual(countsBefore);
    expect((await api.queue.getJob("read-only-probe"))?.data).toEqual({ prompt: "stays put" });
    expect(await (await api.queue.getJob("delayed-probe"))?.getState()).toBe("delayed");

    // bull-board is told too, so its page offers no action.
    const listed = await fetch(`${base}`, { headers: { cookie } });
    const { queues } = (await listed.json()) as { queues: Array<{ name: string; readOnlyMode: boolean }> };
    expect(queues.find((q) => q.name === "generate")?.readOnlyMode).toBe(true);
  });
});
