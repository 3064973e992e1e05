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

  it("keeps a URL already on the base URL's origin", () => {
    expect(downloadUrl("http://gpu-box:8003/outputs/a.png?x=1", base).toString()).toBe(
      "http://gpu-box:8003/outputs/a.png?x=1",
    );
  });

  it("points a bind-address URL (0.0.0.0, localhost) at the server we reached", () => {
    expect(downloadUrl("http://0.0.0.0:8003/images/a.png?x=1", base).toString()).toBe(
      "http://gpu-box:8003/images/a.png?x=1",
    );
    expect(downloadUrl("http://localhost:8003/images/a.png", base).toString()).toBe(
      "http://gpu-box:8003/images/a.png",
    );
  });

  // The server guesses its own host name; and the gateway never fetches from a host the upstream names.
  it("rebases a URL on any other origin (host, port or scheme) onto the base URL", () => {
    expect(downloadUrl("http://zimage-gpu.invalid:8003/outputs/gen_1.png", base).toString()).toBe(
      "http://gpu-box:8003/outputs/gen_1.png",
    );
    expect(downloadUrl("https://169.254.169.254/latest/meta-data?x=1#frag", base).toString()).toBe(
      "http://gpu-box:8003/latest/meta-data?x=1",
    );
    expect(downloadUrl("http://gpu-box:9999/outputs/a.png", base).toString()).toBe(
      "http://gpu-box:8003/outputs/a.png",
    );
  });

  it("keeps the base URL's path prefix when rebasing, without doubling it", () => {
    const proxied = new URL("https://proxy.example/zimage/");
    expect(downloadUrl("http://10.0.0.5:8003/outputs/a.png", proxied).toString()).toBe(
      "https://proxy.example/zimage/outputs/a.png",
    );
    expect(downloadUrl("http://public.example/zimage/outputs/a.png", proxied).toString()).toBe(
      "https://proxy.example/zimage/outputs/a.png",
    );
    expect(downloadUrl("http://10.0.0.5/zimagex/a.png", proxied).toString()).toBe(
      "https://proxy.example/zimage/zimagex/a.png",
    );
  });

  it("refuses non-HTTP schemes", () => {
    expect(() => downloadUrl("file:///etc/passwd", base)).toThrow(TypeError);
  });
});
