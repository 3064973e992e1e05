import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { type Cluster, startCluster } from "@zimage/test-cluster";
import { makePng, waitFor } from "@zimage/testkit";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

/**
 * Issue #11: the web console in the system's Chromium (playwright-core), against a real api, worker
 * and simulator, with the console built by Vite for this run. Screenshots of each screen go to
 * apps/console/test-artifacts/.
 */
const consoleRoot = resolve(import.meta.dirname, "..");
const ARTIFACTS = join(consoleRoot, "test-artifacts");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ADMIN = "console-e2e-admin-key-0123456789abcdef";

let outDir: string;
let cluster: Cluster;
let browser: Browser;
let userKey: string;
let otherKey: string;

beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), "zimage-console-build-"));
  const vite = join(
    dirname(createRequire(join(consoleRoot, "package.json")).resolve("vite/package.json")),
    "bin/vite.js",
  );
  await promisify(execFile)(
    process.execPath,
    [vite, "build", "--outDir", outDir, "--emptyOutDir", "--logLevel", "warn"],
    {
      cwd: consoleRoot,
    },
  );
  await mkdir(ARTIFACTS, { recursive: true });
  cluster = await startCluster({
    // Slow enough to watch a job wait, load and generate; the idle unload shows on the admin screen.
    // The reference server's profile (async edits, two pipelines): every other suite meets the
    // documented one, so the console is proven against the server as its users deploy it.
    sim: { profile: "reference", loadMs: 600, baseMs: 1500, msPerStepMegapixel: 0 },
    env: { ADMIN_API_KEY: ADMIN, CONSOLE_DIR: outDir, IDLE_UNLOAD_SECONDS: "4" },
  });
  userKey = await cluster.createKey("Ada (design)");
  otherKey = await cluster.createKey("Grace (ml)");
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}, 180_000);

afterEach(() => {
  cluster?.sims[0]?.setFaults({ latencyMs: 0 });
});

afterAll(async () => {
  await browser?.close();
  await cluster?.stop();
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

async function signedIn(
  key: string,
  viewport = { width: 1280, height: 860 },
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (err) => problems.push(err.message));
  page.on("console", (msg) => {
    if (msg.type() === "error" && /Content Security Policy/i.test(msg.text())) problems.push(msg.text());
  });
  (page as Page & { problems: string[] }).problems = problems;
  await page.goto(`${cluster.apiUrl}/`);
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor();
  return { context, page };
}

const problemsOf = (page: Page) => (page as Page & { problems: string[] }).problems;
const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

/** Runs axe-core in the page and returns the serious and critical violations. */
async function accessibilityViolations(page: Page): Promise<string[]> {
  const source = await readFile(
    createRequire(join(consoleRoot, "package.json")).resolve("axe-core/axe.min.js"),
    "utf8",
  );
  // Evaluated by the test harness (DevTools), which the page's CSP rightly does not allow a script tag to do.
  await page.evaluate(source);
  const result = (await page.evaluate("axe.run(document, { resultTypes: ['violations'] })")) as {
    violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }>;
  };
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

describe("web console", () => {
  it("signs in with a key kept only as an HttpOnly cookie, and refuses a wrong one", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${cluster.apiUrl}/`);
    await shot(page, "0-sign-in");
    await page.getByLabel("API key").fill("zk_aaaaaaaa_wrong");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/not valid|revoked/i);

    await page.getByLabel("API key").fill(userKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("navigation", { name: "Main" }).waitFor();
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === "zg_session")).toMatchObject({
      httpOnly: true,
      sameSite: "Strict",
    });
    const stored = await page.evaluate(
      () => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
    );
    expect(stored).not.toContain(userKey.slice(12));
    // A user sees no Admin link.
    expect(await page.getByRole("link", { name: "Admin" }).count()).toBe(0);
    // Signed in survives a reload (the cookie), and signing out ends it.
    await page.reload();
    await page.getByRole("navigation", { name: "Main" }).waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("API key").waitFor();
    expect((await context.cookies()).find((c) => c.name === "zg_session")).toBeUndefined();
    await context.close();
  });

  it("goes back to sign-in when the key is revoked", async () => {
    const key = await cluster.createKey("leaving soon");
    const { context, page } = await signedIn(key);
    await page.goto(`${cluster.apiUrl}/#/jobs`);
    await page.getByRole("heading", { name: "My jobs", level: 1 }).waitFor();
    // Once the list and its event stream are in, the next request is what meets the revocation.
    await page.getByText("live", { exact: true }).waitFor();
    await page.getByText("No jobs yet.").waitFor();
    const revoked = await cluster.request("DELETE", `/v1/admin/keys/${key.split("_")[1]}`, { key: ADMIN });
    expect(revoked.status).toBe(200);
    await page.getByRole("link", { name: "Gallery" }).click();
    await page.getByLabel("API key").waitFor();
    await context.close();
  });

  it("submits a text-to-image job and shows it go queued → running → succeeded, then in the gallery", async () => {
    const { context, page } = await signedIn(userKey);
    // Another user's job holds the GPU, so ours visibly waits its turn.
    // Slow enough that ours is still waiting when the page shows it, however loaded the machine is.
    cluster.sims[0]!.setFaults({ latencyMs: 3000 });
    const blocker = await cluster.submit({ prompt: "someone else's job", size: "256x256" }, otherKey);
    await page.goto(`${cluster.apiUrl}/#/create`);
    await page.getByRole("heading", { name: "Create", level: 1 }).waitFor();
    await page.getByLabel("Prompt", { exact: true }).fill("a lighthouse at dusk, watercolor");
    await page.getByLabel("Negative prompt").fill("blurry");
    await page.getByLabel("Size").selectOption("512x512");
    await page.getByLabel("Steps").fill("20");
    await shot(page, "1-create");
    await page.getByRole("button", { name: "Submit job" }).click();
    await page.waitForURL(/#\/jobs$/);
    const item = page.locator("li[data-job-id]").filter({ hasText: "a lighthouse at dusk" });
    await item.waitFor();
    const id = (await item.getAttribute("data-job-id"))!;

    const seen: string[] = [];
    await waitFor(
      async () => {
        const status = await item.getAttribute("data-status");
        if (status && seen.at(-1) !== status) {
          seen.push(status);
          if (status === "queued") await shot(page, "2-my-jobs-queued");
          if (status === "running") await shot(page, "3-my-jobs-running");
        }
        return status === "succeeded";
      },
      { timeoutMs: 30_000, intervalMs: 50, what: "the job to read succeeded in the list" },
    );
    expect(seen).toEqual(["queued", "running", "succeeded"]);
    cluster.sims[0]!.setFaults({ latencyMs: 0 });
    await cluster.waitFor(blocker, undefined, 30_000, otherKey);

    await page.getByRole("link", { name: "Gallery" }).click();
    await page.getByRole("heading", { name: "Gallery", level: 1 }).waitFor();
    const figure = page.locator(`figure[data-job-id="${id}"]`);
    const img = figure.getByRole("img", { name: /a lighthouse at dusk/ });
    await img.waitFor();
    await expect.poll(() => img.evaluate((el) => (el as HTMLImageElement).naturalWidth)).toBe(512);
    expect(await figure.locator("figcaption").textContent()).toMatch(/512x512/);
    expect(await figure.getByRole("link", { name: "Download" }).getAttribute("download")).not.toBeNull();
    await shot(page, "4-gallery");
    expect(await accessibilityViolations(page)).toEqual([]);
    expect(problemsOf(page)).toEqual([]);
    await context.close();
  });

  it("submits a batch job with a deadline from the Create form", async () => {
    const { context, page } = await signedIn(userKey);
    await page.goto(`${cluster.apiUrl}/#/create`);
    await page.getByRole("heading", { name: "Create", level: 1 }).waitFor();
    await page.getByLabel("Prompt", { exact: true }).fill("a nightly render");
    await page.getByLabel("Size").selectOption("512x512");
    await page.getByLabel("Priority").selectOption("batch");
    // A deadline the API refuses is shown at its field, before anything is sent.
    await page.getByLabel("Cancel after (seconds)").fill("0");
    await page.getByRole("button", { name: "Submit job" }).click();
    await page.locator("#cancel_after-error").waitFor();
    await page.getByLabel("Cancel after (seconds)").fill("600");
    const before = Date.now();
    await page.getByRole("button", { name: "Submit job" }).click();
    await page.waitForURL(/#\/jobs$/);
    const item = page.locator("li[data-job-id]").filter({ hasText: "a nightly render" });
    await item.waitFor();
    const view = (await cluster.view((await item.getAttribute("data-job-id"))!, userKey)) as unknown as {
      priority: string;
      deadline_at: string;
    };
    expect(view.priority).toBe("batch");
    const ahead = Date.parse(view.deadline_at) - before;
    expect(ahead).toBeGreaterThan(590_000);
    expect(ahead).toBeLessThanOrEqual(610_000);
    expect(problemsOf(page)).toEqual([]);
    await context.close();
  });

  it("checks the form with the API's own messages, submits an image-to-image job, retries it and deletes it from the gallery", async () => {
    const { context, page } = await signedIn(userKey);
    await page.goto(`${cluster.apiUrl}/#/create`);
    // Nothing typed, and a custom size the API refuses: the API's own messages, tied to the fields.
    await page.getByLabel("Size").selectOption("custom");
    await page.getByLabel("Width").fill("1000");
    await page.getByRole("button", { name: "Submit job" }).click();
    const prompt = page.getByLabel("Prompt", { exact: true });
    expect(await prompt.getAttribute("aria-invalid")).toBe("true");
    const promptError = await page.locator(`#${await prompt.getAttribute("aria-describedby")}`).textContent();
    expect(promptError).toBe("Prompt must not be empty");
    expect(await page.locator("#size-error").textContent()).toBe("Size: both sides must be divisible by 32");
    await shot(page, "1b-create-errors");

    await page.getByLabel("Size").selectOption("1024x1024");
    await prompt.fill("the same scene, at night");
    await page.getByLabel("Input image").setInputFiles({
      name: "scene.png",
      mimeType: "image/png",
      buffer: makePng(96, 64),
    });
    await page.getByRole("img", { name: "Preview of the input" }).waitFor();
    expect(await page.getByLabel("Size").inputValue()).toBe("input");
    await shot(page, "1c-create-image-to-image");
    await page.getByRole("button", { name: "Submit job" }).click();
    await page.waitForURL(/#\/jobs$/);
    const item = page.locator("li[data-job-id]").filter({ hasText: "the same scene, at night" }).first();
    await expect.poll(() => item.getAttribute("data-status"), { timeout: 30_000 }).toBe("succeeded");
    const id = (await item.getAttribute("data-job-id"))!;
    const done = await cluster.view(id, userKey);
    // This suite runs the reference profile, whose async edit takes no size: the input decides.
    expect(done.result!.images[0]).toMatchObject({ width: 96, height: 64 });

    // Retry: a second job with the same parameters and input appears in the list.
    await item.getByRole("button", { name: "Retry" }).click();
    const copies = page.locator("li[data-job-id]").filter({ hasText: "the same scene, at night" });
    await expect.poll(() => copies.count()).toBe(2);
    const copyId = (await copies.first().getAttribute("data-job-id"))!;
    expect(copyId).not.toBe(id);
    await cluster.waitFor(copyId, undefined, 30_000, userKey);

    // Delete from the gallery, after an in-page confirmation.
    await page.goto(`${cluster.apiUrl}/#/gallery`);
    const figure = page.locator(`figure[data-job-id="${id}"]`);
    await figure.waitFor();
    await figure.getByRole("button", { name: "Delete" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.waitFor();
    await shot(page, "4b-gallery-delete");
    await dialog.getByRole("button", { name: "Delete" }).click();
    await figure.waitFor({ state: "detached" });
    expect((await cluster.request("GET", `/v1/jobs/${id}`, { key: userKey })).status).toBe(410);
    expect(problemsOf(page)).toEqual([]);
    await context.close();
  });

  it("cancels a queued job from My jobs", async () => {
    const { context, page } = await signedIn(userKey);
    cluster.sims[0]!.setFaults({ latencyMs: 3000 });
    const blocker = await cluster.submit({ prompt: "a long one", size: "256x256" }, otherKey);
    const queued = await cluster.submit({ prompt: "never mind this one", size: "256x256" }, userKey);
    await page.goto(`${cluster.apiUrl}/#/jobs`);
    const item = page.locator(`li[data-job-id="${queued}"]`);
    await item.waitFor();
    expect(await item.getAttribute("data-status")).toBe("queued");
    await shot(page, "2b-my-jobs");
    await item.getByRole("button", { name: "Cancel" }).click();
    await expect.poll(() => item.getAttribute("data-status")).toBe("canceled");
    expect((await cluster.view(queued, userKey)).status).toBe("canceled");
    cluster.sims[0]!.setFaults({ latencyMs: 0 });
    expect(await accessibilityViolations(page)).toEqual([]);
    await cluster.waitFor(blocker, undefined, 30_000, otherKey);
    await context.close();
  });

  it("shows an admin the upstream loading its model and unloading it when idle", async () => {
    const { context, page } = await signedIn(ADMIN);
    await page.getByRole("link", { name: "Admin" }).click();
    await page.getByRole("heading", { name: "Admin", level: 1 }).waitFor();
    const row = page.locator('tr[data-upstream="gpu0"]');
    await row.waitFor();
    // Columns after the name: Up, Busy, Model, Current job, Last unload, Pipeline loaded, Text-to-image,
    // Image-to-image, Breaker, Defaults.
    const model = row.locator("td").nth(2);
    const currentJob = row.locator("td").nth(3);
    // Wait for the earlier tests' idle unload, then load it again with a job.
    await expect.poll(() => model.textContent(), { timeout: 30_000 }).toBe("unloaded");
    const id = await cluster.submit({ prompt: "wake the GPU", size: "256x256" }, ADMIN);
    await expect.poll(() => currentJob.textContent(), { timeout: 30_000 }).toBe(id);
    await expect.poll(() => model.textContent(), { timeout: 30_000 }).toBe("loaded");
    await shot(page, "5-admin-loaded");
    await cluster.waitFor(id, undefined, 30_000, ADMIN);
    await expect.poll(() => model.textContent(), { timeout: 30_000 }).toBe("unloaded");
    expect(await row.locator("td").nth(4).textContent()).not.toBe("never");
    // What discovery found: the reference server edits only through its async task pair.
    expect(await row.locator("td").nth(7).textContent()).toMatch(/async/);
    await shot(page, "6-admin-unloaded");
    expect(await page.getByRole("link", { name: "Queue admin" }).getAttribute("href")).toBe("/admin/queues");
    expect(await page.getByRole("img", { name: /queue/i }).count()).toBeGreaterThan(0);
    expect(await accessibilityViolations(page)).toEqual([]);
    expect(problemsOf(page)).toEqual([]);
    await context.close();
  });

  it("shows an admin GPU usage per key, and sets a key's GPU budgets", async () => {
    const graceId = otherKey.split("_")[1]!;
    const id = await cluster.submit({ prompt: "billed to Grace", size: "256x256" }, otherKey);
    await cluster.waitFor(id, undefined, 60_000, otherKey);
    // The usage the API reports once this job's GPU time is recorded: what the screen must show.
    const usage = await waitFor(async () => {
      const res = await cluster.request("GET", `/v1/usage?key=${graceId}`, { key: ADMIN });
      const u = (await res.json()) as { totals: { jobs: number; images: number; gpu_seconds: number } };
      return u.totals.jobs > 0 ? u.totals : null;
    });
    const { context, page } = await signedIn(ADMIN);
    await page.getByRole("link", { name: "Admin" }).click();
    const row = page.locator(`[data-testid="usage-by-key"] tr[data-key="${graceId}"]`);
    await row.waitFor();
    expect(await row.locator("th").textContent()).toBe("Grace (ml)");
    // Columns after the name: Jobs, Images, GPU time, Budget per day, Budget per month.
    expect(await row.locator("td").nth(0).textContent()).toBe(String(usage.jobs));
    expect(await row.locator("td").nth(1).textContent()).toBe(String(usage.images));
    expect(await row.locator("td").nth(2).textContent()).toBe(`${usage.gpu_seconds.toFixed(1)} s`);
    expect(await row.locator("td").nth(3).textContent()).toBe("unlimited");

    await page.getByLabel("Key", { exact: true }).selectOption({ label: "Grace (ml)" });
    await page.getByLabel("GPU seconds per day").fill("7200");
    await page.getByRole("button", { name: "Set budgets" }).click();
    await page.getByRole("status").filter({ hasText: "Budgets of Grace (ml) saved." }).waitFor();
    await expect.poll(() => row.locator("td").nth(3).textContent()).toBe("2.00 h");
    expect(await row.locator("td").nth(4).textContent()).toBe("unlimited");
    const keys = (await (await cluster.request("GET", "/v1/admin/keys", { key: ADMIN })).json()) as {
      data: Array<{ id: string; gpu_seconds_per_day: number | null }>;
    };
    expect(keys.data.find((k) => k.id === graceId)?.gpu_seconds_per_day).toBe(7200);
    await shot(page, "8-admin-usage");
    expect(await accessibilityViolations(page)).toEqual([]);
    expect(problemsOf(page)).toEqual([]);
    // Unlimited again, for the tests after this one.
    await cluster.request("PATCH", `/v1/admin/keys/${graceId}`, {
      key: ADMIN,
      body: { gpu_seconds_per_day: null },
    });
    await context.close();
  });

  it("fits a narrow window", async () => {
    const { context, page } = await signedIn(userKey, { width: 360, height: 740 });
    for (const screen of ["create", "jobs", "gallery"]) {
      await page.goto(`${cluster.apiUrl}/#/${screen}`);
      await page.getByRole("heading", { level: 1 }).waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `#/${screen} scrolls sideways`).toBeLessThanOrEqual(0);
      await shot(page, `7-narrow-${screen}`);
    }
    await context.close();
  });
});

describe("rough edges a new user hit (issue #19)", () => {
  it("fits the admin screen in a 390 px phone: nothing scrolls sideways, the chart's axis labels are readable and apart", async () => {
    const { context, page } = await signedIn(ADMIN, { width: 390, height: 844 });
    await page.goto(`${cluster.apiUrl}/#/admin`);
    await page.locator('tr[data-upstream="gpu0"]').waitFor();
    await page.getByRole("img", { name: /queue depth/i }).waitFor();
    await shot(page, "8-admin-390");
    // What sticks out, named, should this fail.
    const sticking = await page.evaluate(() =>
      [...document.querySelectorAll("body *")]
        .filter((el) => el.getBoundingClientRect().right > 390)
        .map((el) => `${el.tagName.toLowerCase()}.${el.className}`)
        .slice(0, 12),
    );
    expect(
      await page.evaluate(() => document.documentElement.scrollWidth),
      sticking.join(", "),
    ).toBeLessThanOrEqual(390);
    // The upstream table scrolls inside its own box, which stays within the page.
    const wrap = page.locator(".table-wrap").filter({ has: page.locator('tr[data-upstream="gpu0"]') });
    const box = (await wrap.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(390);
    const scroll = await wrap.evaluate((el) => ({
      scrollWidth: el.scrollWidth,
      clientWidth: el.clientWidth,
    }));
    expect(scroll.scrollWidth).toBeGreaterThan(scroll.clientWidth);
    // Every column can be reached: the last one scrolls into the box.
    await wrap.evaluate((el) => el.scrollTo({ left: el.scrollWidth }));
    const last = (await page.locator('tr[data-upstream="gpu0"] td').last().boundingBox())!;
    expect(last.x + last.width).toBeLessThanOrEqual(box.x + box.width + 1);

    const labels = await page.locator(".chart .chart-label").evaluateAll((els) =>
      els.map((el) => {
        const r = el.getBoundingClientRect();
        return {
          text: el.textContent,
          x: r.x,
          y: r.y,
          width: r.width,
          height: r.height,
          font: getComputedStyle(el).fontSize,
        };
      }),
    );
    expect(labels.map((l) => l.text)).toEqual([expect.stringMatching(/^\d+$/), "0", "60 min ago", "now"]);
    for (const l of labels) {
      // Text at the page's own size (12.8 px), not scaled down with the chart.
      expect(l.font).toBe("12.8px");
      expect(l.height).toBeGreaterThanOrEqual(12);
      expect(l.x).toBeGreaterThanOrEqual(0);
      expect(l.x + l.width).toBeLessThanOrEqual(390);
    }
    for (let i = 0; i < labels.length; i++)
      for (let j = i + 1; j < labels.length; j++) {
        const [a, b] = [labels[i]!, labels[j]!];
        const apart =
          a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
        expect(apart, `"${a.text}" and "${b.text}" overlap`).toBe(true);
      }
    expect(problemsOf(page)).toEqual([]);
    await context.close();
  });

  it("says what is wrong with a field in words: the field's label and the rule", async () => {
    const { context, page } = await signedIn(userKey);
    await page.goto(`${cluster.apiUrl}/#/create`);
    await page.getByLabel("Prompt", { exact: true }).fill("a fox");
    await page.getByLabel("Steps").fill("101");
    await page.getByLabel("Guidance").fill("21");
    await page.getByLabel("Number of images").fill("1.5");
    await page.getByRole("button", { name: "Submit job" }).click();
    const errorOf = async (label: string) => {
      const input = page.getByLabel(label, { exact: true });
      expect(await input.getAttribute("aria-invalid")).toBe("true");
      return page.locator(`#${await input.getAttribute("aria-describedby")}`).textContent();
    };
    expect(await errorOf("Steps")).toBe("Steps must be at most 100");
    expect(await errorOf("Guidance")).toBe("Guidance must be at most 20");
    expect(await errorOf("Number of images")).toBe("Number of images must be a whole number");
    expect(await page.locator(".field-error").allTextContents()).not.toContainEqual(
      expect.stringMatching(/Too big|Too small|expected/),
    );
    // The API says the same, field by field, in its `details`.
    const res = await cluster.request("POST", "/v1/jobs", {
      key: userKey,
      body: { prompt: "a fox", num_inference_steps: 101 },
    });
    expect(((await res.json()) as { error: { details: unknown } }).error.details).toEqual([
      { path: "num_inference_steps", message: "must be at most 100" },
    ]);
    await shot(page, "9-create-field-errors");
    await context.close();
  });

  it("styles the queue admin's sign-in page like the console, with its own stylesheet and no CSP violation", async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("console", (msg) => {
      if (msg.type() === "error") problems.push(msg.text());
    });
    page.on("response", (res) => {
      if (res.status() >= 400) problems.push(`${res.status()}: ${res.url()}`);
    });
    const look = () =>
      page.evaluate(() => {
        // Unfocused, as the console's page is: a focused input wears the focus ring's radius.
        (document.activeElement as HTMLElement | null)?.blur();
        const css = (sel: string, prop: string) =>
          getComputedStyle(document.querySelector(sel)!).getPropertyValue(prop);
        return {
          background: css("body", "background-color") || css("html", "background-color"),
          font: css("body", "font-family"),
          card: [css("form", "background-color"), css("form", "border-radius"), css("form", "padding")],
          button: [css("button", "background-color"), css("button", "color"), css("button", "border-radius")],
          input: [css("input", "border-radius"), css("input", "padding")],
          brand: css(".logo", "background-color"),
        };
      });
    await page.goto(`${cluster.apiUrl}/`);
    await page.getByLabel("API key").waitFor();
    const consoleLook = await look();
    await page.goto(`${cluster.apiUrl}/admin/login`);
    await page.getByLabel("Admin API key").waitFor();
    await shot(page, "10-admin-login");
    expect(await look()).toEqual(consoleLook);
    expect(consoleLook.button[0]).toBe("rgb(59, 63, 182)");
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    // A wrong key: the page again, in the same style, with the reason.
    await page.getByLabel("Admin API key").fill("zk_aaaaaaaa_wrong");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").waitFor();
    expect(await page.getByRole("alert").textContent()).toBe("That is not a valid admin key.");
    expect(await look()).toEqual(consoleLook);
    expect(problems.filter((p) => !p.includes("401"))).toEqual([]);
    await context.close();
  });

  it("shows an admin their own jobs in My jobs, and everyone's with All keys", async () => {
    const theirs = await cluster.submit(
      { prompt: "Grace's job, not the admin's", size: "128x128" },
      otherKey,
    );
    const mine = await cluster.submit({ prompt: "the admin's own job", size: "128x128" }, ADMIN);
    await cluster.waitFor(theirs, undefined, 30_000, otherKey);
    await cluster.waitFor(mine, undefined, 30_000, ADMIN);
    const { context, page } = await signedIn(ADMIN);
    await page.goto(`${cluster.apiUrl}/#/jobs`);
    const own = page.locator(`li[data-job-id="${mine}"]`);
    const other = page.locator(`li[data-job-id="${theirs}"]`);
    await own.waitFor();
    expect(await other.count()).toBe(0);
    const allKeys = page.getByRole("checkbox", { name: "All keys" });
    expect(await allKeys.isChecked()).toBe(false);
    await allKeys.check();
    await other.waitFor();
    expect(await own.count()).toBe(1);
    await shot(page, "11-my-jobs-all-keys");
    await allKeys.uncheck();
    await other.waitFor({ state: "detached" });
    await own.waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    // A user has no such filter.
    const user = await signedIn(userKey);
    await user.page.goto(`${cluster.apiUrl}/#/jobs`);
    await user.page.getByRole("heading", { name: "My jobs", level: 1 }).waitFor();
    expect(await user.page.getByRole("checkbox", { name: "All keys" }).count()).toBe(0);
    await user.context.close();
    await context.close();
  });
});
