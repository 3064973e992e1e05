import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../../..");
const read = (p: string) => readFileSync(resolve(root, p), "utf8");

function promtool(...args: string[]) {
  const r = spawnSync("promtool", args, { cwd: root, encoding: "utf8" });
  if (r.error) throw new Error(`promtool is needed for this test (.ci/run installs it): ${r.error.message}`);
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** Metric names referenced in a text, with histogram suffixes folded onto their base name. */
function metricNames(text: string): Set<string> {
  return new Set(
    [...text.matchAll(/zimage_gateway_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, "")),
  );
}

const documented = metricNames(read("docs/metrics.md"));
// prom-client's default process metrics carry the prefix too (docs/metrics.md mentions them as a group).
const isDefault = (name: string) => /^zimage_gateway_(process|nodejs)_/.test(name);

describe("deploy/ Prometheus files", () => {
  it("pass promtool's config and rule checks and the rule unit tests", () => {
    for (const args of [
      ["check", "config", "deploy/prometheus.yml"],
      ["check", "rules", "deploy/alerts.yml"],
      ["test", "rules", "deploy/alerts.test.yml"],
    ]) {
      const r = promtool(...args);
      expect(r.code, r.out).toBe(0);
    }
  });

  it("alert on documented series only", () => {
    const used = [...metricNames(read("deploy/alerts.yml"))];
    expect(used.length).toBeGreaterThan(4);
    const undocumented = used.filter(
      (n) => !documented.has(n) && n !== "zimage_gateway_webhook_deliveries_total",
    );
    expect(undocumented).toEqual([]);
  });

  it("a dashboard whose every query uses documented series", () => {
    const dashboard = JSON.parse(read("deploy/grafana/zimage-gateway.json")) as {
      panels: Array<{
        id: number;
        title: string;
        targets: Array<{ expr: string }>;
        fieldConfig: { defaults: { unit?: string } };
      }>;
    };
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(10);
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    for (const panel of dashboard.panels) {
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      expect(panel.fieldConfig.defaults.unit, panel.title).toBeTruthy();
      for (const { expr } of panel.targets) {
        const unknown = [...metricNames(expr)].filter((n) => !documented.has(n) && !isDefault(n));
        expect(unknown, `${panel.title}: ${expr}`).toEqual([]);
      }
    }
    // Every documented series is on the dashboard somewhere.
    const onDashboard = metricNames(JSON.stringify(dashboard));
    expect([...documented].filter((n) => !onDashboard.has(n) && !isDefault(n))).toEqual([]);
  });
});
