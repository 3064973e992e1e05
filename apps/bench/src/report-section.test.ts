import { describe, expect, it } from "vitest";
import { placeSectionUnder, sectionUnder } from "./report-section";

describe("report sections", () => {
  const doc = "# B\n\n## 7. E\n\ne\n\n## 8. R\n\nold r\n\n## Findings\n\nf\n";

  it("replaces a section under its heading and leaves the others", () => {
    expect(placeSectionUnder(doc, "## 8. R", "## 8. R\n\nnew r\n")).toBe(
      "# B\n\n## 7. E\n\ne\n\n## 8. R\n\nnew r\n\n## Findings\n\nf\n",
    );
  });

  it("inserts a new section before the findings, or appends it without them", () => {
    expect(placeSectionUnder(doc, "## 9. S", "## 9. S\n\ns")).toBe(
      "# B\n\n## 7. E\n\ne\n\n## 8. R\n\nold r\n\n## 9. S\n\ns\n\n## Findings\n\nf\n",
    );
    expect(placeSectionUnder("# B\n", "## 9. S", "## 9. S\n\ns")).toBe("# B\n\n## 9. S\n\ns\n");
  });

  it("reads a section back up to the next heading, for a full run to keep it", () => {
    expect(sectionUnder(doc, "## 8. R")).toBe("## 8. R\n\nold r");
    expect(sectionUnder(doc, "## Findings")).toBe("## Findings\n\nf");
    expect(sectionUnder(doc, "## 10. Z")).toBeUndefined();
  });
});
