import { createHash, createHmac, randomBytes } from "node:crypto";
import { getApiKey, tokensEqual } from "@zimage/core";
import type { Redis } from "ioredis";
import { type Principal, principalOfKey } from "./principal";

/**
 * Browser sessions for the web console and the queue admin: an API key is exchanged once for a
 * random session id in an HttpOnly, SameSite=Strict cookie, so the key never sits in the browser.
 * Redis keeps only the id's hash, with a TTL.
 */
export const SESSION_COOKIE = "zg_session";
export const SESSION_TTL_SECONDS = 12 * 3600;
const key = (prefix: string, id: string) =>
  `${prefix}:session:${createHash("sha256").update(id).digest("hex")}`;

/** The bootstrap admin's principal id (ADMIN_API_KEY): the one principal that is not a stored key. */
const BOOTSTRAP_ADMIN = "admin";

/**
 * What ties a bootstrap admin's session to the ADMIN_API_KEY it was made with: an HMAC of the key
 * under the session id. Redis holds only the id's hash, so what it stores cannot be used to test
 * guesses of the admin key; the api, holding the id (the cookie) and the current key, recomputes it.
 */
const adminKeyProof = (id: string, adminKey: string) =>
  createHmac("sha256", id).update(adminKey).digest("base64url");

interface StoredSession extends Principal {
  admin_key_proof?: string;
}

/** `adminKey`: the current ADMIN_API_KEY, which a bootstrap admin's session is bound to. */
export async function createSession(
  redis: Redis,
  prefix: string,
  principal: Principal,
  adminKey: string | undefined,
): Promise<string> {
  const id = randomBytes(32).toString("base64url");
  const stored: StoredSession = { ...principal };
  if (principal.id === BOOTSTRAP_ADMIN) {
    if (!adminKey) throw new Error("a bootstrap admin session needs ADMIN_API_KEY");
    stored.admin_key_proof = adminKeyProof(id, adminKey);
  }
  await redis.set(key(prefix, id), JSON.stringify(stored), "EX", SESSION_TTL_SECONDS);
  return id;
}

/**
 * The session's principal, or null. A session of a stored key is re-read from the key's record each
 * time, so revoking the key ends its sessions at once and new limits or roles apply at once. A
 * bootstrap admin's session lives only while ADMIN_API_KEY is still the key it was made with, so
 * rotating (or unsetting) that key ends its sessions at the next request (issue #17).
 */
export async function readSession(
  redis: Redis,
  prefix: string,
  id: string | undefined,
  adminKey: string | undefined,
): Promise<Principal | null> {
  if (!id || !/^[A-Za-z0-9_-]{43}$/.test(id)) return null;
  const raw = await redis.get(key(prefix, id));
  if (!raw) return null;
  const { admin_key_proof: proof, ...principal } = JSON.parse(raw) as StoredSession;
  if (principal.id === BOOTSTRAP_ADMIN) {
    const valid =
      proof !== undefined && adminKey !== undefined && tokensEqual(proof, adminKeyProof(id, adminKey));
    return valid ? principal : null;
  }
  const record = await getApiKey(redis, prefix, principal.id);
  if (!record || record.revoked_at) return null;
  return principalOfKey(record);
}

export async function endSession(redis: Redis, prefix: string, id: string | undefined): Promise<void> {
  if (id) await redis.del(key(prefix, id));
}
