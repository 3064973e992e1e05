import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { runScript } from "./run-script";

/**
 * Each API key's Standard Webhooks signing secret (`whsec_` + base64), made on first use, and the
 * secrets a rotation replaced, each kept until its overlap ends: a hash secret → end (epoch ms), whose
 * key expires with the last of them.
 */
const key = (prefix: string, owner: string) => `${prefix}:webhook-secret:${owner}`;
const previousKey = (prefix: string, owner: string) => `${prefix}:webhook-secret-previous:${owner}`;
const fresh = () => `whsec_${randomBytes(24).toString("base64")}`;

export interface WebhookSecrets {
  /** The secret deliveries are signed with. */
  secret: string;
  /** Secrets a rotation replaced that deliveries are still signed with too, until `expiresAt`. */
  previous: { secret: string; expiresAt: Date }[];
}

/** The owner's signing secret, made on first use. */
export async function webhookSecret(redis: Redis, prefix: string, owner: string): Promise<string> {
  await redis.set(key(prefix, owner), fresh(), "NX");
  return (await redis.get(key(prefix, owner)))!;
}

/** The current secret and the replaced ones whose overlap has not ended at `now`, newest end first. */
export async function webhookSecrets(
  redis: Redis,
  prefix: string,
  owner: string,
  now = Date.now(),
): Promise<WebhookSecrets> {
  const secret = await webhookSecret(redis, prefix, owner);
  const ends = await redis.hgetall(previousKey(prefix, owner));
  const previous = Object.entries(ends)
    .map(([s, end]) => ({ secret: s, expiresAt: new Date(Number(end)) }))
    .filter((p) => p.expiresAt.getTime() > now && p.secret !== secret)
    .sort((a, b) => b.expiresAt.getTime() - a.expiresAt.getTime());
  return { secret, previous };
}

/** Every secret a delivery is signed with now: the current one first. */
export async function webhookSigningSecrets(redis: Redis, prefix: string, owner: string): Promise<string[]> {
  const { secret, previous } = await webhookSecrets(redis, prefix, owner);
  return [secret, ...previous.map((p) => p.secret)];
}

// KEYS: current, previous. ARGV: new secret, now (ms), end of the replaced secret's overlap (ms).
// One script, so two rotations at once cannot lose a secret between the read and the write.
const ROTATE = `
local old = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1])
local now, ends = tonumber(ARGV[2]), tonumber(ARGV[3])
if old and ends > now then redis.call('HSET', KEYS[2], old, ARGV[3]) end
local last = 0
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  local e = tonumber(all[i + 1])
  if e <= now then redis.call('HDEL', KEYS[2], all[i]) elseif e > last then last = e end
end
if last > 0 then redis.call('PEXPIREAT', KEYS[2], last) end
return 1
`;

/**
 * Replaces the owner's secret. The replaced one keeps signing deliveries (beside the new one) for
 * `overlapSeconds` (WEBHOOK_SECRET_OVERLAP_SECONDS), so receivers can move to the new secret while
 * every delivery still verifies with the old one; 0 ends the old secret at once.
 */
export async function rotateWebhookSecret(
  redis: Redis,
  prefix: string,
  owner: string,
  overlapSeconds: number,
  now = Date.now(),
): Promise<WebhookSecrets> {
  await runScript(
    redis,
    ROTATE,
    2,
    key(prefix, owner),
    previousKey(prefix, owner),
    fresh(),
    now,
    Math.round(now + overlapSeconds * 1000),
  );
  return webhookSecrets(redis, prefix, owner, now);
}
