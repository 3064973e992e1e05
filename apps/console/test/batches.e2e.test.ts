import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { type Cluster, startCluster } from "@zimage/test-cluster";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Issue #19: the console's Batches screen in the system's Chromium, against a real api, worker and
 * simulator, with the console built by Vite for this run: submit a prompt list, watch its progress.
 */
const consoleRoot = resolve(import.meta.dirname, "..");
const ARTIFACTS = join(consoleRoot, "test-artifacts");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ADMIN = "console-batches-admin-key-0123456789abcdef";

let outDir: string;
let cluster: Cluster;
let browser: Browser;
let userKey: string;

beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), "zimage-console-batches-"));
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
  // Slow enough that a reading catches the batch half done.
  cluster = await startCluster({
    sim: { loadMs: 0, baseMs: 700, msPerStepMegapixel: 0 },
    env: { ADMIN_API_KEY: ADMIN, CONSOLE_DIR: outDir },
  });
  userKey = await cluster.createKey("Ada (batches)");
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await cluster?.stop();
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

async function signedIn(key: string, viewport = { width: 1280, height: 860 }): Promise<Page> {
  const page = await (await browser.newContext({ viewport })).newPage();
  const problems: string[] = [];
  page.on("pageerror", (err) => problems.push(err.message));
  (page as Page & { problems: string[] }).problems = problems;
  await page.goto(`${cluster.apiUrl}/`);
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor();
  return page;
}

/** Runs axe-core in the page and returns the serious and critical violations. */
async function accessibilityViolations(page: Page): Promise<string[]> {
  const source = await readFile(
    createRequire(join(consoleRoot, "package.json")).resolve("axe-core/axe.min.js"),
    "utf8",
  );
  await page.evaluate(source);
  const result = (await page.evaluate("axe.run(document, { resultTypes: ['violations'] })")) as {
    violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }>;
  };
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

describe("console batches", () => {
  it("submits a prompt list as a batch and shows its progress to the end", async () => {
    const page = await signedIn(userKey);
    await page.getByRole("link", { name: "Batches" }).click();
    await page.getByRole("heading", { name: "Batches", exact: true }).waitFor();
    await page.getByLabel("Prompts").fill("a red kite\n\na green kite\na blue kite\n");
    await expect.poll(() => page.locator("#prompts-count").textContent()).toBe("3 prompts");
    await page.getByLabel("Size").selectOption("512x512");
    await page.getByLabel("Steps").fill("2");
    await page.getByRole("button", { name: "Submit batch" }).click();

    // The progress view of the new batch: its counts while it runs, then the end.
    await page.getByRole("heading", { name: "Batch", exact: true }).waitFor();
    expect(page.url()).toMatch(/#\/batches\/batch_[0-9A-Z]{26}$/);
    const id = page.url().split("/").pop()!;
    await expect
      .poll(() => page.getByTestId("batch-status").textContent(), { timeout: 20_000 })
      .toBe("running");
    await page.screenshot({ path: join(ARTIFACTS, "batch-progress.png"), fullPage: true });
    await expect
      .poll(() => page.getByTestId("batch-status").textContent(), { timeout: 60_000, interval: 250 })
      .toBe("completed");
    expect(await page.getByTestId("batch-done").textContent()).toBe("3 of 3 done");
    expect(await page.getByTestId("count-succeeded").textContent()).toBe("3");
    expect(await page.getByRole("progressbar", { name: "Batch progress" }).getAttribute("value")).toBe("3");
    const items = page.locator(".batch-jobs li");
    expect(await items.allTextContents()).toEqual([
      expect.stringContaining("a red kite"),
      expect.stringContaining("a green kite"),
      expect.stringContaining("a blue kite"),
    ]);

    // What the screen showed is what the API says.
    const api = (await (await cluster.request("GET", `/v1/batches/${id}`, { key: userKey })).json()) as {
      counts: { succeeded: number };
      jobs: { data: Array<{ params: { size: string; num_inference_steps: number } }> };
    };
    expect(api.counts.succeeded).toBe(3);
    expect(api.jobs.data[0]!.params).toMatchObject({ size: "512x512", num_inference_steps: 2 });

    expect(await accessibilityViolations(page)).toEqual([]);
    // Back to the list: the batch is there.
    await page.getByRole("link", { name: "← All batches" }).click();
    await page.getByRole("link", { name: id }).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    expect((page as Page & { problems: string[] }).problems).toEqual([]);

    // A narrow window: the list and the progress view fit without scrolling sideways.
    const narrow = await signedIn(userKey, { width: 360, height: 740 });
    for (const hash of ["#/batches", `#/batches/${id}`]) {
      await narrow.goto(`${cluster.apiUrl}/${hash}`);
      await narrow.getByRole("heading", { level: 1 }).waitFor();
      await narrow.getByRole("heading", { level: 2 }).first().waitFor();
      const overflow = await narrow.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${hash} scrolls sideways`).toBeLessThanOrEqual(0);
    }
    await narrow.screenshot({ path: join(ARTIFACTS, "batch-narrow.png"), fullPage: true });
  });

  it("a bad line is refused with its line number, and nothing is queued", async () => {
    const page = await signedIn(userKey);
    await page.goto(`${cluster.apiUrl}/#/batches`);
    await page.getByLabel("Prompts").fill(`fine\n${"x".repeat(4001)}`);
    await page.getByRole("button", { name: "Submit batch" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toBe("Line 2: at most 4000 characters");
    expect(page.url()).toMatch(/#\/batches$/);
  });
});
