import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "./helpers";

/**
 * Issue #17: the queue admin in the system's Chromium (playwright-core), at the address the web
 * console links to (`/admin/queues`, no trailing slash), signed in with the session cookie.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ADMIN = "admin-key-for-the-browser-admin-ui-0123456789";
let api: TestApi;
let browser: Browser;

beforeAll(async () => {
  api = await startTestApi({ adminKey: ADMIN });
  await api.queue.add("generate", { prompt: "a lighthouse" }, { jobId: "job-in-the-board" });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await api?.close();
});

describe("queue admin in a browser", () => {
  it("renders at /admin/queues (no trailing slash) with every asset loaded and no CSP violation", async () => {
    const context = await browser.newContext();
    const offMachine: string[] = [];
    // Loopback only: anything else the page asks for is aborted here and reported.
    await context.route(
      (url) => url.hostname !== "127.0.0.1",
      (route) => {
        offMachine.push(route.request().url());
        return route.abort();
      },
    );
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
    page.on("console", (msg) => {
      if (msg.type() === "error") problems.push(`console: ${msg.text()}`);
    });
    page.on("requestfailed", (req) => problems.push(`failed: ${req.url()} ${req.failure()?.errorText}`));
    page.on("response", (res) => {
      if (res.status() >= 400) problems.push(`${res.status()}: ${res.url()}`);
    });

    await page.goto(`${api.url}/admin/login`);
    await page.getByLabel("Admin API key").fill(ADMIN);
    await page.getByRole("button", { name: "Sign in" }).click();
    // Where the login (and the web console's link) lands: no trailing slash, and it stays there.
    await page.waitForURL(`${api.url}/admin/queues`);
    // The overview's card for the job queue: rendered by bull-board's scripts from its API.
    await page.getByRole("main").getByRole("link", { name: "generate" }).waitFor();
    await page.waitForLoadState("networkidle");
    expect(page.url()).toBe(`${api.url}/admin/queues`);

    // A deep link renders too (its relative assets resolve against the <base>), showing the job.
    await page.goto(`${api.url}/admin/queues/queue/generate`);
    await page.getByText("job-in-the-board").first().waitFor();
    await page.waitForLoadState("networkidle");
    expect(problems).toEqual([]);
    expect(offMachine).toEqual([]);
    await context.close();
  });
});
