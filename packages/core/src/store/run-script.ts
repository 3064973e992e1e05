import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

const shas = new Map<string, string>();

/**
 * `redis.eval` without sending the script each time: EVALSHA by the script's SHA-1, and EVAL only when
 * Redis does not know it yet (NOSCRIPT: first use, or a restarted or failed-over Redis). The submit's
 * reservation script is a few KB and runs on every submit.
 */
export async function runScript(
  redis: Redis,
  script: string,
  numKeys: number,
  ...args: Array<string | number>
): Promise<unknown> {
  let sha = shas.get(script);
  if (!sha) {
    sha = createHash("sha1").update(script).digest("hex");
    shas.set(script, sha);
  }
  try {
    return await redis.evalsha(sha, numKeys, ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
    return await redis.eval(script, numKeys, ...args);
  }
}
