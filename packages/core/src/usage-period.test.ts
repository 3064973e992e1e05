import { describe, expect, it } from "vitest";
import { dayStart, daysBetween, periodEnd, utcDay, utcMonth } from "./usage-period";

describe("usage periods (UTC)", () => {
  it("names the UTC day and month, not the local one", () => {
    const ms = Date.parse("2026-03-31T23:30:00-02:00"); // 01:30 UTC on April 1st
    expect(utcDay(ms)).toBe("2026-04-01");
    expect(utcMonth(ms)).toBe("2026-04");
  });

  it("ends a day at the next UTC midnight and a month on the first of the next", () => {
    const ms = Date.parse("2026-12-31T12:00:00Z");
    expect(new Date(periodEnd("day", ms)).toISOString()).toBe("2027-01-01T00:00:00.000Z");
    expect(new Date(periodEnd("month", Date.parse("2026-02-10T00:00:00Z"))).toISOString()).toBe(
      "2026-03-01T00:00:00.000Z",
    );
  });

  it("lists the days of a range, both ends included, and refuses dates that do not exist", () => {
    expect(daysBetween("2028-02-27", "2028-03-01")).toEqual([
      "2028-02-27",
      "2028-02-28",
      "2028-02-29",
      "2028-03-01",
    ]);
    expect(dayStart("2027-02-29")).toBeNaN();
    expect(dayStart("2027-2-1")).toBeNaN();
  });
});
