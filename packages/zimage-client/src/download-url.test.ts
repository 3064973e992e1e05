import { describe, expect, it } from "vitest";
import { downloadUrl } from "./download-url";

const base = new URL("http://gpu-box:8003/");

describe("downloadUrl", () => {
  it("resolves a relative URL against the base URL", () => {
    expect(downloadUrl("/images/a.png", base).toString()).toBe("http://gpu-box:8003/images/a.png");
    expect(downloadUrl("images/a.png", new URL("http://proxy/zimage/")).toString()).toBe(
      "http://proxy/zimage/images/a.png",
    );
  });

  it("keeps an absolute URL on another real host", () => {
    expect(downloadUrl("http://cdn.example/a.png", base).toString()).toBe("http://cdn.example/a.png");
  });

  it("points a bind-address URL (0.0.0.0, localhost) at the server we reached", () => {
    expect(downloadUrl("http://0.0.0.0:8003/images/a.png?x=1", base).toString()).toBe(
      "http://gpu-box:8003/images/a.png?x=1",
    );
    expect(downloadUrl("http://localhost:8003/images/a.png", base).toString()).toBe(
      "http://gpu-box:8003/images/a.png",
    );
  });

  it("refuses non-HTTP schemes", () => {
    expect(() => downloadUrl("file:///etc/passwd", base)).toThrow(TypeError);
  });
});
