import { mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createJobQueue,
  createLogger,
  createRedis,
  createWebhookQueue,
  type Logger,
  ResultUrlSigner,
} from "@zimage/core";
import { createStore } from "@zimage/storage";
import { type PrivateRedis, startRedis, startTcpProxy, type TcpProxy } from "@zimage/testkit";
import type { Queue } from "bullmq";
import type { Express } from "express";
import { createApp } from "../src/app";
import { JobEventBus } from "../src/job-event-bus";
import { openModeCheck } from "../src/open-mode";
import { type StreamLimits, StreamSlots } from "../src/stream-slots";

export interface TestApi {
  url: string;
  app: Express;
  redis: PrivateRedis;
  dataDir: string;
  /** The job queue the api writes to (no worker takes from it here). */
  queue: Queue;
  /** The api's held connections (SSE streams and waits) and its job event bus, to check what they hold. */
  streams: StreamSlots;
  events: JobEventBus;
  /** With `redisProxy`: the proxy between the api and its Redis, to stall the api's Redis calls. */
  proxy: TcpProxy | undefined;
  close(): Promise<void>;
}

/** The real api app on an ephemeral loopback port, over a private redis-server and a temp data dir. */
export async function startTestApi(
  opts: {
    maxJsonBytes?: number;
    maxUploadBytes?: number;
    adminKey?: string;
    ratePerMinute?: number;
    maxPending?: number;
    allowPrivateWebhooks?: boolean;
    authFailureLimits?: { maxFailures: number; windowSeconds: number };
    trustProxy?: string;
    consoleDir?: string;
    publicUrl?: string;
    /** Another test api's Redis, to run a second api over the same state (left running on close). */
    redis?: PrivateRedis;
    /** Where the api logs; silent by default. */
    logger?: Logger;
    /** Stream caps; generous by default. */
    streamLimits?: Partial<StreamLimits>;
    /** Connect the api to Redis through a TCP proxy the test can cut (`proxy`). */
    redisProxy?: boolean;
  } = {},
): Promise<TestApi> {
  const redis = opts.redis ?? (await startRedis());
  const dataDir = await mkdtemp(join(tmpdir(), "zimage-api-"));
  const proxy = opts.redisProxy ? await startTcpProxy({ port: redis.port }) : undefined;
  const conn = createRedis(proxy ? `redis://127.0.0.1:${proxy.port}` : redis.url);
  await conn.ping(); // the api answers 503 until its connection is ready, as in production

  const queue = createJobQueue({
    connection: conn,
    prefix: "test",
    retentionSeconds: 3600,
    attempts: 1,
    backoffMs: 1000,
  });
  const store = createStore({ kind: "fs", root: dataDir });
  const limits = {
    rate_per_minute: opts.ratePerMinute ?? 1000,
    max_pending: opts.maxPending ?? 1000,
    priority_weight: 1,
  };
  const logger = opts.logger ?? createLogger({ name: "api-test", level: "silent" });
  const events = new JobEventBus(conn, "test", logger);
  await events.start();
  const streams = new StreamSlots({
    perKey: 1000,
    perProcess: 10_000,
    writeTimeoutMs: 30_000,
    ...opts.streamLimits,
  });
  const app = createApp({
    events,
    streams,
    queue,
    redis: conn,
    store,
    prefix: "test",
    retentionSeconds: 3600,
    signer: new ResultUrlSigner("test-secret-for-result-urls-0123456789"),
    resultUrlTtlSeconds: 3600,
    webhooks: createWebhookQueue(conn, "test"),
    webhookPolicy: { allowPrivate: opts.allowPrivateWebhooks ?? false, allowlist: [] },
    webhookSchedule: [1],
    adminKey: opts.adminKey,
    defaultLimits: limits,
    openMode: openModeCheck({ redis: conn, prefix: "test", host: "127.0.0.1", adminKey: opts.adminKey }),
    logger,
    readiness: { checks: { redis: async () => conn.status === "ready" && (await conn.ping()) === "PONG" } },
    maxJsonBytes: opts.maxJsonBytes ?? 1024 * 1024,
    maxUploadBytes: opts.maxUploadBytes ?? 2 * 1024 * 1024,
    authFailureLimits: opts.authFailureLimits,
    trustProxy: opts.trustProxy,
    consoleDir: opts.consoleDir,
    publicUrl: opts.publicUrl,
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    redis,
    dataDir,
    queue,
    streams,
    events,
    proxy,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await events.close();
      await queue.close();
      conn.disconnect();
      await proxy?.close();
      if (!opts.redis) await redis.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
