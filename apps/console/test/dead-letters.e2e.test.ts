import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { type Cluster, startCluster } from "@zimage/test-cluster";
import { waitFor } from "@zimage/testkit";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Issue #19: the admin screen lists webhook dead letters, and its Redeliver button sends one again
 * (in the system's Chromium, against a real api, worker and simulator, the console built by Vite).
 */
const consoleRoot = resolve(import.meta.dirname, "..");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ADMIN = "console-dead-letters-admin-key-0123456789";

let outDir: string;
let cluster: Cluster;
let browser: Browser;
let receiver: Server;
let accept = false;
const answered: number[] = [];

beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), "zimage-console-build-"));
  const vite = join(
    dirname(createRequire(join(consoleRoot, "package.json")).resolve("vite/package.json")),
    "bin/vite.js",
  );
  await promisify(execFile)(
    process.execPath,
    [vite, "build", "--outDir", outDir, "--emptyOutDir", "--logLevel", "warn"],
    { cwd: consoleRoot },
  );
  receiver = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const status = accept ? 200 : 503;
      answered.push(status);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  cluster = await startCluster({
    env: {
      ADMIN_API_KEY: ADMIN,
      CONSOLE_DIR: outDir,
      WEBHOOK_ALLOW_PRIVATE: "true",
      WEBHOOK_RETRY_SCHEDULE: "0.2",
    },
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await cluster?.stop();
  receiver?.closeAllConnections();
  receiver?.close();
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

describe("the admin screen's dead letters", () => {
  it("lists a delivery that ended unaccepted and redelivers it with the button", async () => {
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const id = await cluster.submit({ prompt: "receiver down", size: "128x128", webhook: { url } }, ADMIN);
    await waitFor(
      async () =>
        (await (await cluster.request("GET", "/v1/admin/deliveries", { key: ADMIN })).text()).includes(id),
      { timeoutMs: 30_000, what: "the dead letter" },
    );
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    await page.goto(`${cluster.apiUrl}/`);
    await page.getByLabel("API key").fill(ADMIN);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("link", { name: "Admin" }).click();
    await page.getByRole("heading", { name: "Webhook dead letters" }).waitFor();
    const row = page.locator(`tr[data-webhook-id="${id}-succeeded"]`);
    await row.waitFor();
    expect(await row.textContent()).toMatch(/succeeded.*answered 503/);

    accept = true;
    await page.getByRole("button", { name: `Redeliver succeeded of ${id}` }).click();
    await page
      .getByRole("status")
      .filter({ hasText: `${id}-succeeded queued again (redelivery 1)` })
      .waitFor();
    await waitFor(() => answered.includes(200), { timeoutMs: 20_000, what: "the redelivery" });
    // The list is read again after the redelivery; once accepted the delivery is no dead letter.
    await page.reload();
    await page.getByRole("heading", { name: "Webhook dead letters" }).waitFor();
    await page.getByText("No webhook delivery has ended unaccepted.").waitFor();
    await context.close();
  });
});
