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
    // IPv4-compatible IPv6 passed before issue #17; every form that carries an IPv4 is judged by it.
    ["http://[::7f00:1]/"],
    ["http://[::a9fe:a9fe]/latest/meta-data/"],
    ["http://[64:ff9b::a9fe:a9fe]/"],
    ["http://[2002:7f00:1::1]/"],
    ["http://[2001:0:808:808::80ff:fffe]/"],
    ["http://2130706433/"],
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

  it("refuses a name when any of its addresses is not public, without naming the address", async () => {
    const resolve = async () => [
      { address: "93.184.216.34", family: 4 },
      { address: "::7f00:1", family: 6 },
    ];
    const err = await checkWebhookUrl("https://hooks.example/x", strict, resolve).catch((e: Error) => e);
    expect(err).toMatchObject({ code: "webhook_url_forbidden" });
    expect((err as Error).message).not.toContain("7f00");
    const ok = async () => [{ address: "93.184.216.34", family: 4 }];
    await expect(checkWebhookUrl("https://hooks.example/x", strict, ok)).resolves.toBeInstanceOf(URL);
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
