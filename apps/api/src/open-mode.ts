import { countActiveApiKeys } from "@zimage/core";
import type { Redis } from "ioredis";

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Open local mode: with no API key at all (none created, no ADMIN_API_KEY), a gateway bound to
 * loopback serves every caller as the local admin, so `pnpm start` works out of the box. Anywhere
 * else the api refuses to start without keys. Checked per request: creating the first key ends it.
 */
export function openModeCheck(opts: {
  redis: Redis;
  prefix: string;
  host: string;
  adminKey?: string | undefined;
}) {
  return async (): Promise<boolean> => {
    if (opts.adminKey || !isLoopback(opts.host)) return false;
    return (await countActiveApiKeys(opts.redis, opts.prefix)) === 0;
  };
}
