import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Redis } from "ioredis";

/**
 * Signed, expiring image URLs: `?expires=<unix s>&sig=<HMAC-SHA256(id:index:expires)>`, scoped to one
 * job and image, so a browser or a webhook consumer can fetch an image without an API key. The
 * secret is RESULT_URL_SECRET, or one generated once and shared by all processes through Redis.
 */
export class ResultUrlSigner {
  constructor(private readonly secret: string) {}

  static async create(redis: Redis, prefix: string, configured?: string): Promise<ResultUrlSigner> {
    if (configured) return new ResultUrlSigner(configured);
    const key = `${prefix}:secret:result-urls`;
    await redis.set(key, randomBytes(32).toString("base64url"), "NX");
    const secret = await redis.get(key);
    if (!secret) throw new Error("could not read the result URL secret");
    return new ResultUrlSigner(secret);
  }

  private mac(id: string, index: number, expires: number): string {
    return createHmac("sha256", this.secret).update(`${id}:${index}:${expires}`).digest("base64url");
  }

  /** The query string (without `?`) that authorises this image until `expires` (unix seconds). */
  sign(id: string, index: number, expires: number): string {
    return `expires=${expires}&sig=${this.mac(id, index, expires)}`;
  }

  verify(
    id: string,
    index: number,
    expires: string,
    sig: string,
    nowSeconds = Date.now() / 1000,
  ): "ok" | "invalid" | "expired" {
    if (!/^\d{1,12}$/.test(expires) || !/^[A-Za-z0-9_-]{43}$/.test(sig)) return "invalid";
    const expected = Buffer.from(this.mac(id, index, Number(expires)));
    const given = Buffer.from(sig);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return "invalid";
    return Number(expires) < nowSeconds ? "expired" : "ok";
  }
}
