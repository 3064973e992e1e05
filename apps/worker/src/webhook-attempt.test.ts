import { startH2TlsServer } from "@zimage/testkit";
import { describe, expect, it } from "vitest";
import { attemptWebhook, webhookAgent } from "./webhook-attempt";

describe("webhookAgent", () => {
  it("delivers over HTTP/1.1 to a TLS receiver that offers HTTP/2 (undici 8 would pick h2)", async () => {
    const receiver = await startH2TlsServer((_req, res) => res.writeHead(204).end());
    const policy = { allowPrivate: true, allowlist: [] };
    const resolve = async () => [{ address: "127.0.0.1", family: 4 }];
    const agent = webhookAgent(policy, resolve);
    try {
      const outcome = await attemptWebhook(
        `${receiver.url}/hook`,
        async () => ({ body: "{}", headers: { "content-type": "application/json" } }),
        { policy, dispatcher: agent, resolve, timeoutMs: 30_000 },
      );
      expect(outcome).toMatchObject({ statusCode: 204, error: null });
      expect(receiver.versions).toEqual(["1.1"]);
    } finally {
      await agent.close();
      await receiver.close();
    }
  });
});
