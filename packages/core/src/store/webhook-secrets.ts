import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";

/** Each API key's Standard Webhooks signing secret (`whsec_` + base64), made on first use. */
const key = (prefix: string, owner: string) => `${prefix}:webhook-secret:${owner}`;
const fresh = () => `whsec_${randomBytes(24).toString("base64")}`;

export async function webhookSecret(redis: Redis, prefix: string, owner: string): Promise<string> {
  await redis.set(key(prefix, owner), fresh(), "NX");
  return (await redis.get(key(prefix, owner)))!;
}

export async function rotateWebhookSecret(redis: Redis, prefix: string, owner: string): Promise<string> {
  const secret = fresh();
  await redis.set(key(prefix, owner), secret);
  return secret;
}
