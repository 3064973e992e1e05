import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Redis } from "ioredis";
import { PRIORITY_CLASSES, type PriorityClass } from "../job-request";

/**
 * API keys. A key is shown once at creation (`zk_<id>_<secret>`); Redis keeps only its SHA-256 and a
 * short visible prefix. SHA-256 without salt is enough here because the secret is 192 random bits,
 * not a password; it also makes lookup O(1) by hash. Revoking deletes the hash mapping, so a
 * revoked key stops working on the very next request.
 */
export type KeyRole = "admin" | "user";

export interface KeyLimits {
  /** Submits allowed per minute. */
  rate_per_minute: number;
  /** Queued + running jobs allowed at once. */
  max_pending: number;
  /** Fair-share weight: a key with weight 2 gets two queue slots for each one of a weight-1 key. */
  priority_weight: number;
  /**
   * The priority classes the key may submit (issue #19); absent or empty: every class. A key limited
   * to `["batch"]` has its jobs queued as batch by default and is refused an explicit interactive one.
   */
  priority_classes?: PriorityClass[];
  /** GPU seconds the key may use per UTC day; null or absent: unlimited (issue #19). */
  gpu_seconds_per_day?: number | null;
  /** ... per UTC month. */
  gpu_seconds_per_month?: number | null;
}

export interface ApiKeyRecord extends KeyLimits {
  id: string;
  name: string;
  role: KeyRole;
  /** The first characters of the key, to recognise it in lists (`zk_ab12cd34_…`). */
  prefix: string;
  created_at: string;
  revoked_at: string | null;
}

export const keyHash = (prefix: string, id: string) => `${prefix}:key:${id}`;
const byHash = (prefix: string, hash: string) => `${prefix}:key-by-hash:${hash}`;
const allKeys = (prefix: string) => `${prefix}:keys`;
const activeKeys = (prefix: string) => `${prefix}:keys:active`;

export function hashApiKey(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** Constant-time equality of two tokens (hashing first makes the lengths equal). */
export function tokensEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash("sha256").update(a).digest(), createHash("sha256").update(b).digest());
}

const TOKEN = /^zk_([a-z0-9]{8})_([A-Za-z0-9_-]{32})$/;

export function looksLikeApiKey(token: string): boolean {
  return TOKEN.test(token);
}

export async function createApiKey(
  redis: Redis,
  prefix: string,
  input: { name: string; role: KeyRole } & KeyLimits,
): Promise<{ key: string; record: ApiKeyRecord }> {
  const id = randomBytes(6)
    .toString("base64url")
    .toLowerCase()
    .replace(/[^a-z0-9]/g, "0")
    .slice(0, 8)
    .padEnd(8, "0");
  const secret = randomBytes(24).toString("base64url");
  const key = `zk_${id}_${secret}`;
  const record: ApiKeyRecord = {
    id,
    name: input.name,
    role: input.role,
    prefix: `zk_${id}_${secret.slice(0, 4)}`,
    created_at: new Date().toISOString(),
    revoked_at: null,
    rate_per_minute: input.rate_per_minute,
    max_pending: input.max_pending,
    priority_weight: input.priority_weight,
    priority_classes: allowedClasses(input.priority_classes),
    gpu_seconds_per_day: input.gpu_seconds_per_day ?? null,
    gpu_seconds_per_month: input.gpu_seconds_per_month ?? null,
  };
  const hash = hashApiKey(key);
  const ok = await redis
    .multi()
    .hset(keyHash(prefix, id), { ...stored(record), revoked_at: "", hash })
    .set(byHash(prefix, hash), id)
    .sadd(allKeys(prefix), id)
    .sadd(activeKeys(prefix), id)
    .exec();
  if (!ok) throw new Error("could not store the API key");
  return { key, record };
}

/**
 * A hash keeps strings: an unlimited budget (null) is stored as "", the priority classes as a
 * comma-separated list.
 */
function stored(limits: Partial<ApiKeyRecord>): Record<string, string | number> {
  return Object.fromEntries(
    Object.entries(limits)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, v === null ? "" : Array.isArray(v) ? v.join(",") : (v as string | number)]),
  );
}

const budget = (v: string | undefined) => (v ? Number(v) : null);

function decode(h: Record<string, string>): ApiKeyRecord | null {
  if (!h.id) return null;
  return {
    id: h.id,
    name: h.name ?? "",
    role: h.role === "admin" ? "admin" : "user",
    prefix: h.prefix ?? "",
    created_at: h.created_at ?? "",
    revoked_at: h.revoked_at || null,
    rate_per_minute: Number(h.rate_per_minute),
    max_pending: Number(h.max_pending),
    priority_weight: Number(h.priority_weight) || 1,
    // Keys created before classes existed may use every class.
    priority_classes: allowedClasses(h.priority_classes?.split(",") as PriorityClass[] | undefined),
    gpu_seconds_per_day: budget(h.gpu_seconds_per_day),
    gpu_seconds_per_month: budget(h.gpu_seconds_per_month),
  };
}

/** The classes a key may use, in PRIORITY_CLASSES order; none listed (or none known) means all. */
export function allowedClasses(classes: readonly string[] | undefined): PriorityClass[] {
  const known = PRIORITY_CLASSES.filter((c) => classes?.includes(c));
  return known.length > 0 ? known : [...PRIORITY_CLASSES];
}

/** The active key a bearer token belongs to, or null. */
export async function findApiKey(redis: Redis, prefix: string, token: string): Promise<ApiKeyRecord | null> {
  const id = TOKEN.exec(token)?.[1];
  if (!id) return null;
  // The key names its record: one read, and the same work whether the secret is right or wrong.
  const h = await redis.hgetall(keyHash(prefix, id));
  const hash = hashApiKey(token);
  if (!h.hash || !timingSafeEqual(Buffer.from(h.hash), Buffer.from(hash))) return null;
  const record = decode(h);
  return record && !record.revoked_at ? record : null;
}

export async function getApiKey(redis: Redis, prefix: string, id: string): Promise<ApiKeyRecord | null> {
  if (!/^[a-z0-9]{8}$/.test(id)) return null;
  return decode(await redis.hgetall(keyHash(prefix, id)));
}

export async function listApiKeys(redis: Redis, prefix: string): Promise<ApiKeyRecord[]> {
  const ids = await redis.smembers(allKeys(prefix));
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.hgetall(keyHash(prefix, id));
  const rows = (await pipeline.exec()) ?? [];
  return rows
    .map(([, h]) => decode(h as Record<string, string>))
    .filter((r): r is ApiKeyRecord => r !== null)
    .sort((a, b) => a.created_at.localeCompare(b.created_at));
}

export async function revokeApiKey(redis: Redis, prefix: string, id: string): Promise<ApiKeyRecord | null> {
  const h = await redis.hgetall(keyHash(prefix, id));
  const record = decode(h);
  if (!record) return null;
  if (record.revoked_at) return record;
  const revokedAt = new Date().toISOString();
  await redis
    .multi()
    .hset(keyHash(prefix, id), "revoked_at", revokedAt)
    .del(byHash(prefix, h.hash ?? ""))
    .srem(activeKeys(prefix), id)
    .exec();
  return { ...record, revoked_at: revokedAt };
}

export async function setApiKeyLimits(
  redis: Redis,
  prefix: string,
  id: string,
  limits: Partial<KeyLimits>,
): Promise<ApiKeyRecord | null> {
  const record = await getApiKey(redis, prefix, id);
  if (!record) return null;
  const { priority_classes, ...numbers } = limits;
  const patch: Partial<ApiKeyRecord> = Object.fromEntries(
    Object.entries(numbers).filter(([, v]) => v !== undefined),
  );
  if (priority_classes !== undefined) patch.priority_classes = allowedClasses(priority_classes);
  if (Object.keys(patch).length > 0) await redis.hset(keyHash(prefix, id), stored(patch));
  return { ...record, ...patch };
}

export async function countActiveApiKeys(redis: Redis, prefix: string): Promise<number> {
  return redis.scard(activeKeys(prefix));
}

/** Keys ever created, revoked ones included (a revoked key keeps its record). */
export async function countApiKeys(redis: Redis, prefix: string): Promise<number> {
  return redis.scard(allKeys(prefix));
}
