import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const run = promisify(execFile);
const pkg = resolve(import.meta.dirname, "..");

/**
 * The SDK as published: `pnpm build` emits ESM with declarations, and plain Node (no tsx, no
 * bundler) imports it through the `publishConfig` exports.
 */
it("builds to ESM with types that plain Node can import", async () => {
  const dist = resolve(pkg, "dist");
  await rm(dist, { recursive: true, force: true });
  try {
    await run(
      process.execPath,
      [resolve(pkg, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
      {
        cwd: pkg,
      },
    );
    const manifest = JSON.parse(await readFile(resolve(pkg, "package.json"), "utf8"));
    const published = manifest.publishConfig.exports["."];
    expect(existsSync(resolve(pkg, published.types))).toBe(true);
    expect(await readFile(resolve(pkg, published.types), "utf8")).toMatch(/ZImageGateway/);
    const probe = `
      const sdk = await import(${JSON.stringify(resolve(pkg, published.import))});
      const names = Object.keys(sdk).sort();
      const client = new sdk.ZImageGateway({ baseUrl: "http://127.0.0.1:9" });
      console.log(JSON.stringify({ names, baseUrl: client.baseUrl }));
    `;
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", probe], { cwd: pkg });
    expect(JSON.parse(stdout)).toEqual({
      names: [
        "ZImageApiError",
        "ZImageConnectionError",
        "ZImageError",
        "ZImageGateway",
        "ZImageWaitTimeoutError",
        "ZImageWebhookError",
        "verifyWebhook",
      ],
      baseUrl: "http://127.0.0.1:9",
    });
  } finally {
    await rm(dist, { recursive: true, force: true });
  }
});
