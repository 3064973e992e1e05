import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "./helpers";

/** Issue #11: the api serves the built web console at `/`, locked down to its own origin. */
let dir: string;
let api: TestApi;
let unbuilt: TestApi;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "zimage-console-"));
  await mkdir(join(dir, "assets"));
  await writeFile(
    join(dir, "index.html"),
    '<!doctype html><script type="module" src="/assets/app-abc123.js"></script>',
  );
  await writeFile(join(dir, "assets", "app-abc123.js"), "console.log('console');");
  api = await startTestApi({ consoleDir: dir });
  unbuilt = await startTestApi({ consoleDir: join(dir, "missing") });
});
afterAll(async () => {
  await api?.close();
  await unbuilt?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("web console assets", () => {
  it("serves the index uncached with a CSP that allows only this origin", async () => {
    const res = await fetch(`${api.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await res.text()).toContain("/assets/app-abc123.js");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("serves hashed assets for a year, and 404s (JSON) what is not there", async () => {
    const res = await fetch(`${api.url}/assets/app-abc123.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/javascript/);
    expect(res.headers.get("cache-control")).toMatch(/max-age=31536000.*immutable/);
    const missing = await fetch(`${api.url}/assets/nope.js`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("not_found");
    const traversal = await fetch(`${api.url}/assets/..%2f..%2fpackage.json`);
    expect(traversal.status).toBeGreaterThanOrEqual(400);
  });

  it("says how to build the console when it is not built", async () => {
    const res = await fetch(`${unbuilt.url}/`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain("--filter @zimage/console build");
    // The API is unaffected.
    expect((await fetch(`${unbuilt.url}/health`)).status).toBe(200);
  });
});
