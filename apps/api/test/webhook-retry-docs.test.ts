import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { configSchema } from "@zimage/core";
import { describe, expect, it } from "vitest";

/** Issue #19: the docs disagreed on how long webhooks are retried (24 h, about 27 h). One figure, computed. */
const root = resolve(import.meta.dirname, "../../..");
const read = (p: string) => readFileSync(resolve(root, p), "utf8");

describe("the documented webhook retry duration", () => {
  it("is the sum of the default WEBHOOK_RETRY_SCHEDULE wherever it is stated", () => {
    const schedule = configSchema.shape.WEBHOOK_RETRY_SCHEDULE.parse(undefined).split(",").map(Number);
    const total = schedule.reduce((a, b) => a + b, 0);
    const hours = `${(total / 3600).toFixed(1)} h`;
    expect(hours).toBe("27.7 h");
    const readme = read("README.md");
    expect(readme).toContain(`${total.toLocaleString("en-US")} s, about ${hours}`);
    expect(readme).toContain(`about ${hours} by default`);
    expect(read("deploy/alerts.yml")).toContain(`about ${hours} with the default WEBHOOK_RETRY_SCHEDULE`);
    for (const doc of [
      "README.md",
      "deploy/alerts.yml",
      "docs/architecture.md",
      "apps/worker/src/webhook-sender.ts",
    ]) {
      expect(read(doc)).not.toMatch(/retried for 24 h|about 27 h|24 h and more/);
    }
  });
});
