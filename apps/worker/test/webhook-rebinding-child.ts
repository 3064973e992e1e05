/**
 * Runs inside a network namespace that has only loopback (webhook-rebinding.test.ts makes it): a
 * delivery whose name answers public for the SSRF check and 127.0.0.1 for the connection (DNS
 * rebinding). Nothing here can leave the machine: the namespace has no route, so a connection to the
 * "public" answer fails locally. Prints one JSON line with what each case did.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { checkWebhookUrl, type HostResolver } from "@zimage/core";
import { Agent, request } from "undici";
import { attemptWebhook, webhookAgent } from "../src/webhook-attempt";

const PUBLIC = "93.184.216.34";
const strict = { allowPrivate: false, allowlist: [] };

/** A rebinding DNS: the first answer is public, every later one loopback. Counts its answers. */
function rebinding(): HostResolver & { answers: string[] } {
  const answers: string[] = [];
  const resolve = async (_host: string) => {
    const address = answers.length === 0 ? PUBLIC : "127.0.0.1";
    answers.push(address);
    return [{ address, family: 4 }];
  };
  return Object.assign(resolve, { answers });
}

const received: string[] = [];
const receiver = createServer((req, res) => {
  received.push(`${req.method} ${req.url}`);
  res.writeHead(204).end();
});
await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
const url = `http://rebind.test:${(receiver.address() as AddressInfo).port}/hook`;
const build = async () => ({ body: "{}", headers: { "content-type": "application/json" } });

// 1. The connection path before issue #17: the guard checks, then the connection resolves the name
// again with nothing checking the answer. Shows the hook reproduces the attack.
const before = rebinding();
const plainAgent = new Agent({
  connect: {
    lookup: (host, _opts, cb) =>
      void before(host).then((a) =>
        cb(
          null,
          a.map((x) => ({ address: x.address, family: x.family })),
        ),
      ),
  },
});
await checkWebhookUrl(url, strict, before);
const unguarded = await request(url, { method: "POST", body: "{}", dispatcher: plainAgent }).then(
  async (res) => {
    await res.body.dump();
    return { statusCode: res.statusCode, received: received.length };
  },
  (err: Error) => ({ error: err.message, received: received.length }),
);
await plainAgent.close();

// 2. The sender's attempt: guard, then the guarded agent.
const after = rebinding();
const agent = webhookAgent(strict, after);
const guarded = await attemptWebhook(url, build, {
  policy: strict,
  dispatcher: agent,
  resolve: after,
  timeoutMs: 5000,
});

// 3. A name that answers public every time: the connection goes to the checked public address, which
// this namespace cannot reach (no route), so the attempt fails here and the receiver gets nothing.
const publicOnly: HostResolver = async () => [{ address: PUBLIC, family: 4 }];
const publicAgent = webhookAgent(strict, publicOnly);
const toPublic = await attemptWebhook(url, build, {
  policy: strict,
  dispatcher: publicAgent,
  resolve: publicOnly,
  timeoutMs: 5000,
});

await Promise.all([agent.close(), publicAgent.close()]);
receiver.close();
process.stdout.write(
  `${JSON.stringify({
    unguarded: { ...unguarded, answers: before.answers },
    guarded: { ...guarded, answers: after.answers },
    toPublic,
    received,
  })}\n`,
);
