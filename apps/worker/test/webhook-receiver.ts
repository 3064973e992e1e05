import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

/** A loopback webhook receiver for the cross-process webhook tests. */
export interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
  answered: number;
  /** The address the delivery came from (which host sent it, in hosts.test.ts). */
  from: string | undefined;
}
export interface Receiver {
  url: string;
  deliveries: Delivery[];
  close(): Promise<void>;
}

/**
 * Answers each delivery with `answer(n, body)`; n counts the deliveries received before this one.
 * Listens on loopback unless given another `host` (one of the test's own virtual interfaces).
 */
export async function startReceiver(
  answer: (n: number, body: string) => number,
  port = 0,
  host = "127.0.0.1",
): Promise<Receiver> {
  const deliveries: Delivery[] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => {
      const status = answer(deliveries.length, body);
      deliveries.push({ headers: req.headers, body, answered: status, from: req.socket.remoteAddress });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(port, host, () => r()));
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}/hook`,
    deliveries,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface VerifiedPayload {
  type: string;
  timestamp: string;
  data: unknown;
}

/** Checks the Standard Webhooks signature with the reference library; throws when it does not hold. */
export const verify = (secret: string, d: Delivery) =>
  new Webhook(secret).verify(d.body, {
    "webhook-id": String(d.headers["webhook-id"]),
    "webhook-timestamp": String(d.headers["webhook-timestamp"]),
    "webhook-signature": String(d.headers["webhook-signature"]),
  }) as VerifiedPayload;

/** The event type of a delivery, read without checking its signature (for a receiver's answer). */
export const typeOf = (body: string) => (JSON.parse(body) as { type: string }).type;

/**
 * A second Standard Webhooks verifier, written from the specification with node:crypto alone (the npm
 * alternatives, svix included, wrap the same `standardwebhooks` code): HMAC-SHA256 of
 * `${id}.${timestamp}.${body}` keyed by the base64 after `whsec_`, accepted when any `v1,` signature in
 * the space-separated `webhook-signature` matches, within five minutes of the timestamp. Throws if not.
 */
export function verifyBySpec(secret: string, d: Delivery): VerifiedPayload {
  const id = String(d.headers["webhook-id"]);
  const timestamp = String(d.headers["webhook-timestamp"]);
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) throw new Error("timestamp out of tolerance");
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.${d.body}`).digest();
  const matches = String(d.headers["webhook-signature"])
    .split(" ")
    .map((s) => s.split(","))
    .some(([version, sig]) => {
      const given = Buffer.from(sig ?? "", "base64");
      return version === "v1" && given.length === expected.length && timingSafeEqual(given, expected);
    });
  if (!matches) throw new Error("no signature matches");
  return JSON.parse(d.body) as VerifiedPayload;
}
