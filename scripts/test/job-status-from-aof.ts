import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createJobQueue, createRedis, getJobSnapshot, pingRedis, statusOf } from "@zimage/core";
import { freePort, waitFor } from "@zimage/testkit/standalone";

/**
 * A job's status as the run left it on disk: start.ts's Redis is gone once the run has stopped (it
 * stops last), so a fresh redis-server loads the run's AOF from `<dataDir>/redis` and is asked.
 */
export async function jobStatusFromAof(dataDir: string, jobId: string): Promise<string | null> {
  const port = await freePort();
  const redis = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--dir", join(dataDir, "redis")].concat([
      "--appendonly",
      "yes",
      "--save",
      "",
    ]),
    { stdio: "ignore" },
  );
  const url = `redis://127.0.0.1:${port}`;
  const exited = once(redis, "exit");
  try {
    await waitFor(() => pingRedis(url), { timeoutMs: 15_000, what: "redis-server on the run's AOF" });
    const connection = createRedis(url);
    const queue = createJobQueue({
      connection,
      prefix: "zimage",
      retentionSeconds: 3600,
      attempts: 1,
      backoffMs: 0,
    });
    const snapshot = await getJobSnapshot(queue, jobId);
    await queue.close();
    connection.disconnect();
    return snapshot ? statusOf(snapshot.state, snapshot.failedReason) : null;
  } finally {
    redis.kill("SIGKILL");
    await exited;
  }
}
