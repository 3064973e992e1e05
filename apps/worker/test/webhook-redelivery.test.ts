import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Cluster, startCluster } from "@zimage/test-cluster";
import { waitFor } from "@zimage/testkit";
// svix 1.82 is pinned on purpose: the last release whose verifier is its own code (later ones wrap the
// `standardwebhooks` package the sender signs with), so the signature is checked by a second
// implementation of Standard Webhooks, not by the one that made it. svix 2 is such a wrapper too (its
// `Webhook.verify` calls standardwebhooks and returns nothing), so it is not taken.
import { Webhook as SvixWebhook } from "svix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Issue #19: a delivery that used up its retries lands in the admins' dead-letter view; once the
 * receiver is fixed, a redelivery sends the same event with the same `webhook-id`, signed with the
 * owner's current secret.
 */
const ADMIN = "admin-key-for-the-redelivery-tests-0123456789";

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  answered: number;
}

/** A loopback receiver whose answer the test switches: fail (500), accept (200) or hold the request. */
function receiver() {
  const received: Received[] = [];
  let mode: "fail" | "ok" | "hold" = "fail";
  const held: Array<() => void> = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => {
      const answer = (status: number) => {
        received.push({ headers: req.headers, body, answered: status });
        res.writeHead(status).end();
      };
      if (mode === "hold") held.push(() => answer(200));
      else answer(mode === "ok" ? 200 : 500);
    });
  });
  return {
    received,
    held,
    set: (m: typeof mode) => {
      mode = m;
    },
    listen: () => new Promise<string>((r) => server.listen(0, "127.0.0.1", () => r(url()))),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  function url() {
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  }
}

let cluster: Cluster;
let hook: ReturnType<typeof receiver>;
let hookUrl: string;
let owner: string;
let stranger: string;

beforeAll(async () => {
  hook = receiver();
  hookUrl = await hook.listen();
  cluster = await startCluster({
    env: {
      ADMIN_API_KEY: ADMIN,
      WEBHOOK_ALLOW_PRIVATE: "true",
      // Three attempts a run, a few tenths of a second apart.
      WEBHOOK_RETRY_SCHEDULE: "0.2,0.2",
      WEBHOOK_SECRET_OVERLAP_SECONDS: "0",
    },
  });
  owner = await cluster.createKey("hook-owner");
  stranger = await cluster.createKey("someone-else");
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
  await hook?.close();
});

interface Attempt {
  webhook_id: string;
  attempt: number;
  status_code: number | null;
  next_retry_at: string | null;
  redelivery: number;
}
interface DeadLetter {
  webhook_id: string;
  job_id: string;
  event: string;
  owner: string;
  attempts: number;
  error: string | null;
}

const json = async <T>(res: Response | Promise<Response>) => (await (await res).json()) as T;
const attemptsOf = async (id: string) =>
  (await json<{ data: Attempt[] }>(cluster.request("GET", `/v1/jobs/${id}/deliveries`, { key: owner }))).data;
const deadLetters = async (query = "") =>
  json<{ data: DeadLetter[]; next_cursor: string | null; has_more: boolean }>(
    cluster.request("GET", `/v1/admin/deliveries?state=exhausted${query}`, { key: ADMIN }),
  );
const redeliver = (id: string, event: string, key: string) =>
  cluster.request("POST", `/v1/jobs/${id}/deliveries/${event}/redeliver`, { key });

/** The payload's job view with image links cut to their path: the signature in them is made per attempt. */
const unsigned = (body: string) =>
  JSON.parse(body.replace(/(\/images\/\d+)\?[^"]*/g, "$1")) as { type: string; data: unknown };

describe("webhook redelivery", () => {
  it("lists an exhausted delivery as a dead letter, and redelivers it with the same webhook-id once the receiver is fixed", async () => {
    hook.set("fail");
    const id = await cluster.submit(
      {
        prompt: "a receiver that is down",
        size: "256x256",
        webhook: { url: hookUrl, events: ["succeeded"] },
      },
      owner,
    );
    const webhookId = `${id}-succeeded`;
    const letter = await waitFor(
      async () => (await deadLetters()).data.find((d) => d.webhook_id === webhookId) ?? null,
      { timeoutMs: 30_000, what: "the dead letter" },
    );
    expect(letter).toMatchObject({ job_id: id, event: "succeeded", attempts: 3, error: "answered 500" });
    const first = await attemptsOf(id);
    expect(first.map((a) => [a.attempt, a.status_code, a.redelivery])).toEqual([
      [1, 500, 0],
      [2, 500, 0],
      [3, 500, 0],
    ]);
    expect(first.at(-1)!.next_retry_at).toBeNull();
    const original = hook.received.filter((r) => r.headers["webhook-id"] === webhookId);
    expect(original).toHaveLength(3);

    // Other users cannot see or redeliver it; only admins see the dead letters.
    const foreign = await redeliver(id, "succeeded", stranger);
    expect([foreign.status, (await json<{ error: { code: string } }>(foreign)).error.code]).toEqual([
      404,
      "job_not_found",
    ]);
    expect((await cluster.request("GET", "/v1/admin/deliveries", { key: owner })).status).toBe(403);
    // An event the job never had delivered, and one that is not an event.
    const never = await redeliver(id, "queued", owner);
    expect([never.status, (await json<{ error: { code: string } }>(never)).error.code]).toEqual([
      404,
      "delivery_not_found",
    ]);
    expect((await redeliver(id, "exploded", owner)).status).toBe(400);

    // The owner rotates the secret: the redelivery is signed with the new one.
    const secret = (
      await json<{ secret: string }>(cluster.request("POST", "/v1/webhook-secret/rotate", { key: owner }))
    ).secret;
    hook.set("ok");
    const accepted = await redeliver(id, "job.succeeded", owner);
    expect(accepted.status).toBe(202);
    expect(await accepted.json()).toEqual({
      object: "webhook.redelivery",
      webhook_id: webhookId,
      job_id: id,
      event: "succeeded",
      redelivery: 1,
      previous_state: "exhausted",
    });
    const delivered = await waitFor(() => hook.received.find((r) => r.answered === 200) ?? null, {
      timeoutMs: 20_000,
      what: "the redelivery",
    });
    expect(delivered.headers["webhook-id"]).toBe(webhookId);
    const verified = new SvixWebhook(secret).verify(delivered.body, {
      "webhook-id": String(delivered.headers["webhook-id"]),
      "webhook-timestamp": String(delivered.headers["webhook-timestamp"]),
      "webhook-signature": String(delivered.headers["webhook-signature"]),
    }) as { type: string; data: { id: string; status: string } };
    expect(verified.type).toBe("job.succeeded");
    expect(verified.data).toMatchObject({ id, status: "succeeded" });
    // The same event as first sent; the original attempts were signed with the replaced secret.
    expect(unsigned(delivered.body).data).toEqual(unsigned(original[0]!.body).data);
    expect(() =>
      new SvixWebhook(secret).verify(original[0]!.body, {
        "webhook-id": String(original[0]!.headers["webhook-id"]),
        "webhook-timestamp": String(original[0]!.headers["webhook-timestamp"]),
        "webhook-signature": String(original[0]!.headers["webhook-signature"]),
      }),
    ).toThrow();

    const all = await waitFor(async () => ((await attemptsOf(id)).length === 4 ? attemptsOf(id) : null), {
      what: "the redelivery's attempt record",
    });
    expect(all.at(-1)).toMatchObject({ webhook_id: webhookId, attempt: 1, status_code: 200, redelivery: 1 });
    await waitFor(async () => !(await deadLetters()).data.some((d) => d.webhook_id === webhookId), {
      what: "the dead letter to leave the view",
    });
    const metrics = await (await fetch(`${cluster.apiUrl}/metrics`)).text();
    expect(metrics).toMatch(/^zimage_gateway_webhook_redeliveries_total{service="api"} 1$/m);

    // A delivered event may be sent again (same webhook-id: a de-duplicating receiver keeps the first).
    const again = await redeliver(id, "succeeded", ADMIN);
    expect(await again.json()).toMatchObject({ redelivery: 2, previous_state: "delivered" });
    await waitFor(() => hook.received.filter((r) => r.answered === 200).length === 2, {
      what: "the second redelivery",
    });
  });

  it("refuses to redeliver a delivery that is still being sent (409 delivery_pending)", async () => {
    hook.set("hold");
    const id = await cluster.submit(
      { prompt: "a slow receiver", size: "256x256", webhook: { url: hookUrl, events: ["succeeded"] } },
      owner,
    );
    await waitFor(() => hook.held.length === 1, { timeoutMs: 30_000, what: "the held delivery" });
    const busy = await redeliver(id, "succeeded", owner);
    expect(busy.status).toBe(409);
    expect((await json<{ error: { code: string } }>(busy)).error.code).toBe("delivery_pending");
    hook.set("ok");
    hook.held.shift()!();
    await waitFor(async () => (await attemptsOf(id)).some((a) => a.status_code === 200), {
      what: "the delivery to finish",
    });
    expect(hook.held).toHaveLength(0);
  });

  it("pages the dead letters newest first by cursor", async () => {
    hook.set("fail");
    const ids: string[] = [];
    for (const prompt of ["first", "second", "third"]) {
      const id = await cluster.submit(
        { prompt, size: "256x256", webhook: { url: hookUrl, events: ["succeeded"] } },
        owner,
      );
      ids.push(id);
      // Each ends before the next is submitted, so the order of their ends is known.
      await waitFor(async () => (await deadLetters()).data.some((d) => d.job_id === id), {
        timeoutMs: 30_000,
        what: `the dead letter of ${prompt}`,
      });
    }
    const page1 = await deadLetters("&limit=2");
    expect(page1.data.map((d) => d.job_id)).toEqual([ids[2], ids[1]]);
    expect(page1.has_more).toBe(true);
    const page2 = await deadLetters(`&limit=2&cursor=${page1.next_cursor}`);
    expect(page2.data[0]!.job_id).toBe(ids[0]);
    expect((await cluster.request("GET", "/v1/admin/deliveries?state=pending", { key: ADMIN })).status).toBe(
      400,
    );
  });
});
