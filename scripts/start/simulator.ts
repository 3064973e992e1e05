import { createServer } from "node:net";
import { type Config, displayUrl } from "@zimage/core";
import { say } from "./log";
import { nodePart } from "./node-part";
import type { Supervisor } from "./supervisor";
import { waitUntil } from "./wait-until";

function portIsFree(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const srv = createServer();
    srv.once("error", () => ok(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => ok(true)));
  });
}

async function firstFreePort(from: number): Promise<number> {
  for (let port = from; port < from + 50; port++) if (await portIsFree(port)) return port;
  throw new Error(`no free port between ${from} and ${from + 49}`);
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/health`)).ok;
  } catch {
    return false; // not listening yet: that is what we are polling for
  }
}

/**
 * ZIMAGE_UPSTREAMS when it is set; otherwise the Z-Image simulator on 127.0.0.1:`simPort` (or the next
 * free port), as `sim=<url>`. Null when start.ts is stopping instead.
 */
export async function ensureUpstreams(
  supervisor: Supervisor,
  opts: { root: string; config: Config; upstreams: string | undefined; simPort: number },
): Promise<string | null> {
  if (opts.upstreams) {
    const list = opts.config.upstreams.map((u) => `${u.name}=${displayUrl(u.url)}`).join(", ");
    say("start", `upstreams from ZIMAGE_UPSTREAMS: ${list}`);
    return opts.upstreams;
  }
  const port = await firstFreePort(opts.simPort);
  const url = `http://127.0.0.1:${port}`;
  say("start", `ZIMAGE_UPSTREAMS is not set: starting the Z-Image simulator at ${url} (no GPU involved)`);
  const sim = supervisor.run("sim", process.execPath, nodePart(opts.root, "apps/zimage-sim/src/main.ts"), {
    env: { SIM_PORT: String(port), SIM_HOST: "127.0.0.1" },
    stopTimeoutMs: 15_000,
  });
  if (!sim) return null;
  const up = await waitUntil(async () => supervisor.isStopping || (await answers(url)), 20_000);
  if (supervisor.isStopping) return null;
  if (!up) {
    await supervisor.stopAll(1, "the simulator did not answer within 20 s");
    return null;
  }
  return `sim=${url}`;
}
