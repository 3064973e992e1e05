import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { consoleStylesheet } from "./console";

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe("the console's stylesheet, for the pages the api renders itself", () => {
  it("is the one the built console's index.html links", async () => {
    dir = await mkdtemp(join(tmpdir(), "console-dist-"));
    await writeFile(
      join(dir, "index.html"),
      '<!doctype html><html><head><script type="module" crossorigin src="/assets/index-B1a2.js"></script>\n' +
        '<link rel="stylesheet" crossorigin href="/assets/index-Cx_9-z.css"></head><body></body></html>',
    );
    expect(await consoleStylesheet(dir)).toBe("/assets/index-Cx_9-z.css");
  });

  it("is null when the console is not built", async () => {
    dir = await mkdtemp(join(tmpdir(), "console-dist-"));
    expect(await consoleStylesheet(dir)).toBeNull();
    await writeFile(join(dir, "index.html"), "<!doctype html><title>no styles</title>");
    expect(await consoleStylesheet(dir)).toBeNull();
  });
});
