import { describe, expect, it } from "vitest";
import { checkWebhookUrl } from "./webhook-url-guard";

const strict = { allowPrivate: false, allowlist: [] };

describe("checkWebhookUrl", () => {
  it.each([
    ["http://127.0.0.1/hook"],
    ["http://169.254.169.254/latest/meta-data/"],
    ["http://[::1]:8080/"],
    ["http://10.0.0.1/"],
    ["http://192.168.1.20/"],
    ["http://172.16.5.5/"],
    ["http://100.64.0.1/"],
    ["http://0.0.0.0/"],
    ["http://[::ffff:127.0.0.1]/"],
    ["http://localhost:9000/"],
    ["file:///etc/passwd"],
    ["ftp://example.com/"],
    ["http://user:pass@example.com/"],
    ["http://example.com/\r\nX-Injected: 1"],
    ["not a url"],
  ])("refuses %s", async (url) => {
    await expect(checkWebhookUrl(url, strict)).rejects.toMatchObject({
      code: "webhook_url_forbidden",
      status: 400,
    });
  });

  it("accepts a public address, and private ones when the operator allows them", async () => {
    await expect(checkWebhookUrl("https://8.8.8.8/hook", strict)).resolves.toBeInstanceOf(URL);
    await expect(
      checkWebhookUrl("http://127.0.0.1:9/hook", { allowPrivate: true, allowlist: [] }),
    ).resolves.toBeInstanceOf(URL);
    await expect(
      checkWebhookUrl("http://localhost:9/hook", { allowPrivate: false, allowlist: ["localhost"] }),
    ).resolves.toBeInstanceOf(URL);
  });
});
