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
    expect(await page.text()).toMatch(/<form method="post" action="\/admin\/login">/);

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
