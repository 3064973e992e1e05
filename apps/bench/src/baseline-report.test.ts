import { describe, expect, it } from "vitest";
import { pollingSection, submitSection } from "./baseline-report";
import type { SubmitRun } from "./submit-throughput";

const run = (connections: number, apiRps: number, handRps: number, rawRps: number): SubmitRun => ({
  connections,
  apiRps,
  apiP99Ms: 10,
  hand: { rps: handRps, p99Ms: 5 },
  rawRps,
});
const rowsOf = (section: string) => section.split("\n").filter((l) => /^\| \d/.test(l));

describe("baseline report (issue #20)", () => {
  it("puts the hand-written gateway beside raw adds, with each ratio and goal per level, median (min–max)", () => {
    const section = submitSection(
      [
        [run(1, 700, 1000, 2000), run(16, 400, 1000, 800)],
        [run(1, 800, 1000, 2000), run(16, 500, 1000, 800)],
        [run(1, 900, 1000, 2000), run(16, 600, 1000, 800)],
      ],
      [1, 16],
      5,
    );
    expect(section).toContain(
      "| connections | api submits/s | api p99 | hand-written submits/s | hand-written p99 | raw Queue.add/s | api / hand-written | goal (≥ 70 %) | api / raw | goal (≥ 50 %) |",
    );
    expect(rowsOf(section)).toEqual([
      "| 1 | 800 (700–900) | 10 ms (10 ms–10 ms) | 1000 (1000–1000) | 5 ms (5 ms–5 ms) | 2000 (2000–2000) | 80 % (70 %–90 %) | met | 40 % (35 %–45 %) | **missed** |",
      "| 16 | 500 (400–600) | 10 ms (10 ms–10 ms) | 1000 (1000–1000) | 5 ms (5 ms–5 ms) | 800 (800–800) | 50 % (40 %–60 %) | **missed** | 63 % (50 %–75 %) | met |",
    ]);
    expect(section).toContain("handwritten-gateway.ts");
  });

  it("refuses a submit run without the hand-written baseline rather than report a blank", () => {
    const { hand: _hand, ...bare } = run(1, 1, 1, 1);
    expect(() => submitSection([[bare]], [1], 5)).toThrow(/no hand-written baseline/);
  });

  it("reports polling against the hand-written gateway and bare Express, one run without a range", () => {
    const section = pollingSection([{ apiRps: 3500, handRps: 5000, bareRps: 14000 }], 16, 2);
    expect(section).toContain("16 connections for 2 s");
    expect(rowsOf(section)).toEqual(["| 3500 | 5000 | 14000 | 70 % | met | 25 % | **missed** |"]);
  });
});
