import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { pingRedis, redactUrl } from "@zimage/core";
import { say } from "./log";
import { nodePart } from "./node-part";
import type { Supervisor } from "./supervisor";
import { waitUntil } from "./wait-until";

/**
 * The Redis at `url` if one answers; otherwise a local redis-server with AOF in `<dataDir>/redis`,
 * run through redis-guard.ts so it never outlives start.ts. Null when start.ts is stopping instead.
 */
export async function ensureRedis(
  supervisor: Supervisor,
  opts: { root: string; url: string; dataDir: string },
): Promise<string | null> {
  const { url } = opts;
  if (await pingRedis(url)) {
    say("start", `using Redis at ${redactUrl(url)}`);
    return url;
  }
  const parsed = new URL(url);
  const host = parsed.hostname || "127.0.0.1";
  if (!["127.0.0.1", "localhost", "::1", "[::1]"].includes(host)) {
    await supervisor.stopAll(
      1,
      `nothing answers at REDIS_URL=${redactUrl(url)}, and it is not local, so no redis-server is started for it`,
    );
    return null;
  }
  const port = parsed.port || "6379";
  const dir = resolve(opts.root, opts.dataDir, "redis");
  mkdirSync(dir, { recursive: true });
  say(
    "start",
    `nothing answers at ${redactUrl(url)}: starting redis-server on port ${port} with AOF in ${dir}`,
  );
  // Redis listens on 127.0.0.1 only, whatever the URL's spelling of loopback.
  const args = ["--port", port, "--bind", "127.0.0.1", "--dir", dir];
  args.push("--appendonly", "yes", "--appendfsync", "everysec", "--save", "");
  args.push("--maxmemory-policy", "noeviction");
  const guard = supervisor.run(
    "redis",
    process.execPath,
    [...nodePart(opts.root, "scripts/start/redis-guard.ts"), ...args],
    { stopTimeoutMs: 15_000, onStop: "writes its AOF", killWhenHurried: false },
  );
  if (!guard) return null;
  const up = await waitUntil(async () => supervisor.isStopping || (await pingRedis(url)), 10_000);
  if (supervisor.isStopping) return null;
  if (!up) {
    await supervisor.stopAll(1, "redis-server did not answer within 10 s");
    return null;
  }
  return url;
}
