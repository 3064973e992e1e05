import { z } from "zod";
import { parseRedisNodes, type RedisTarget } from "./redis";
import { parseUpstreams, type UpstreamConfig } from "./upstreams";

/**
 * Every setting the gateway reads, in one table. Nothing else reads process.env (STYLE rule 3).
 * Each entry: env name → schema with default. The README's configuration table mirrors this list.
 */
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
/** Durations in seconds may be fractional so tests can run the same code with sub-second timings. */
const seconds = (min: number, max: number) => z.coerce.number().min(min).max(max);
const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"], { message: "must be true or false" })
  .transform((v) => v === "true" || v === "1" || v === "yes");

export const configSchema = z.object({
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: int(0, 65535).default(8080),
  PUBLIC_URL: z.url({ message: "must be an absolute http(s) URL" }).optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "must start with redis:// or rediss://")
    .default("redis://127.0.0.1:6379"),
  /** Sentinel topology: the sentinels' `host:port,…`; REDIS_URL then gives only credentials, db and TLS. */
  REDIS_SENTINELS: z.string().optional(),
  REDIS_SENTINEL_NAME: z.string().min(1).default("mymaster"),
  REDIS_SENTINEL_PASSWORD: z.string().optional(),
  /** Cluster topology: seed nodes' `host:port,…`; REDIS_URL then gives only credentials and TLS. */
  REDIS_CLUSTER_NODES: z.string().optional(),
  QUEUE_PREFIX: z
    .string()
    .max(64)
    // At most one `{tag}`: a Redis Cluster hash tag, so every key shares one slot.
    .regex(
      /^[A-Za-z0-9_.-]*(\{[A-Za-z0-9_.-]+\})?[A-Za-z0-9_.-]*$/,
      "letters, digits, _ . - only, and at most one {hash tag}",
    )
    .min(1)
    .default("zimage"),
  ZIMAGE_UPSTREAMS: z.string().optional(),
  DATA_DIR: z.string().min(1).default(".data"),
  /** Where inputs and results are stored: files under DATA_DIR, or an S3-compatible bucket. */
  STORAGE: z.enum(["filesystem", "s3"], { message: "must be filesystem or s3" }).default("filesystem"),
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "an S3 bucket name: 3-63 characters, a-z 0-9 . -")
    .optional(),
  /** Prepended to every object key, e.g. `zimage/` when the bucket is shared. */
  S3_PREFIX: z
    .string()
    .max(512)
    .regex(
      /^(?!(.*\/)?\.{1,2}(\/|$))([A-Za-z0-9._-]+\/)*[A-Za-z0-9._-]+\/?$/,
      "path segments of A-Z a-z 0-9 . _ - separated by /, no leading /, no . or .. segments",
    )
    .optional(),
  /** Another S3-compatible server (MinIO, Ceph, R2, …); unset: AWS S3. */
  S3_ENDPOINT: z.url({ message: "must be an absolute http(s) URL" }).optional(),
  S3_FORCE_PATH_STYLE: bool.default(false),
  /**
   * How a signed image URL delivers an S3-stored image: `stream` through the api (the default: the
   * console's CSP and the api's auth rules stay as they are), or `redirect` (302) to a presigned
   * URL of the bucket valid S3_PRESIGN_SECONDS, so the bytes skip the api.
   */
  S3_RESULT_DELIVERY: z.enum(["stream", "redirect"]).default("stream"),
  S3_PRESIGN_SECONDS: int(10, 7 * 86_400).default(300),
  // The AWS SDK's own variables. Unset keys leave credentials to the SDK's default chain (shared
  // files, web identity, container and instance roles).
  AWS_REGION: z.string().min(1).optional(),
  AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  AWS_SESSION_TOKEN: z.string().min(1).optional(),
  /** The built web console (`pnpm --filter @zimage/console build`); unset: apps/console/dist in this checkout. */
  CONSOLE_DIR: z.string().min(1).optional(),
  IMAGE_TIMEOUT_SECONDS: seconds(0.1, 86_400).default(600),
  COLD_IMAGE_TIMEOUT_SECONDS: seconds(0.1, 86_400).default(1800),
  UPSTREAM_CONTROL_TIMEOUT_SECONDS: seconds(0.1, 600).default(10),
  UPSTREAM_MAX_RESPONSE_BYTES: int(1024, 4 * 1024 * 1024 * 1024).default(512 * 1024 * 1024),
  UPSTREAM_POLL_SECONDS: seconds(0.01, 60).default(0.5),
  HEALTH_INTERVAL_SECONDS: seconds(0.05, 3600).default(10),
  MODEL_LOAD_RETRIES: int(0, 20).default(3),
  MODEL_LOAD_RETRY_SECONDS: seconds(0, 600).default(10),
  IDLE_UNLOAD_SECONDS: seconds(0, 7 * 86_400).default(600),
  LEASE_TTL_SECONDS: seconds(0.5, 600).default(15),
  LEASE_SPREAD_SECONDS: seconds(0, 600).default(2),
  LOCK_DURATION_SECONDS: seconds(0.5, 3600).default(15),
  STALLED_INTERVAL_SECONDS: seconds(0.5, 3600).default(15),
  MAX_STALLED_COUNT: int(0, 100).default(2),
  SHUTDOWN_GRACE_SECONDS: seconds(0, 86_400).default(660),
  MAX_UPLOAD_BYTES: int(1024, 200 * 1024 * 1024).default(20 * 1024 * 1024),
  MAX_JSON_BYTES: int(1024, 50 * 1024 * 1024).default(1024 * 1024),
  OPENAI_WAIT_SECONDS: seconds(1, 86_400).default(540),
  /** Held connections (SSE streams and waiting requests) one API key may have open on one api process. */
  MAX_STREAMS_PER_KEY: int(1, 1_000_000).default(64),
  /** ... and all keys together on one api process. */
  MAX_STREAMS_PER_PROCESS: int(1, 1_000_000).default(2000),
  /** A stream whose client has not read for this long (its socket buffer full) is closed. */
  STREAM_WRITE_TIMEOUT_SECONDS: seconds(0.1, 3600).default(30),
  RESULT_TTL: seconds(1, 365 * 86_400).default(7 * 86_400),
  /** How long GPU usage per key and day is kept (issue #19): what `GET /v1/usage` can still show. */
  USAGE_RETENTION_DAYS: int(1, 3650).default(400),
  RESULT_URL_TTL_SECONDS: seconds(1, 365 * 86_400).default(86_400),
  RESULT_URL_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  SWEEP_INTERVAL_SECONDS: seconds(0.1, 86_400).default(60),
  JOB_ATTEMPTS: int(1, 20).default(3),
  JOB_BACKOFF_SECONDS: seconds(0, 3600).default(5),
  ADMIN_API_KEY: z.string().min(32, "must be at least 32 characters").optional(),
  AUTH_FAILURES_PER_IP: int(1, 1_000_000).default(20),
  AUTH_FAILURE_WINDOW_SECONDS: seconds(1, 86_400).default(300),
  TRUST_PROXY: z.string().default("false"),
  DEFAULT_RATE_PER_MINUTE: int(1, 10_000_000).default(60),
  DEFAULT_MAX_PENDING: int(1, 1_000_000).default(100),
  /** The most jobs one `POST /v1/batches` may hold (issue #19). */
  BATCH_MAX_JOBS: int(1, 100_000).default(1000),
  METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  WORKER_METRICS_HOST: z.string().min(1).default("127.0.0.1"),
  WORKER_METRICS_PORT: int(0, 65535).default(9464),
  WEBHOOK_ALLOW_PRIVATE: bool.default(false),
  WEBHOOK_ALLOWLIST: z.string().default(""),
  WEBHOOK_TIMEOUT_SECONDS: seconds(0.1, 120).default(10),
  WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .regex(/^\d+(\.\d+)?(,\d+(\.\d+)?)*$/, "comma-separated seconds, e.g. 5,30,120")
    .default("5,30,120,600,1800,3600,7200,14400,28800,43200"),
  /** After a webhook secret rotation, deliveries are signed with the old secret too for this long. */
  WEBHOOK_SECRET_OVERLAP_SECONDS: seconds(0, 30 * 86_400).default(86_400),
  /** Consecutive failed attempts on one upstream that open its circuit breaker (0 = never). */
  BREAKER_FAILURES: int(0, 1000).default(3),
  /** How long an open breaker keeps its upstream out of rotation before one probe job. */
  BREAKER_COOLDOWN_SECONDS: seconds(0.1, 86_400).default(30),
  /** Pipeline-aware scheduling: at most this many jobs may be taken ahead of a skipped job (0 = FIFO). */
  PIPELINE_WINDOW_JOBS: int(0, 1000).default(8),
  /** ... and a job is skipped for at most this long. */
  PIPELINE_WINDOW_SECONDS: seconds(0, 86_400).default(300),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  LOG_PRETTY: bool.optional(),
});

export type RawConfig = z.infer<typeof configSchema>;

export interface Config extends Omit<RawConfig, "ZIMAGE_UPSTREAMS"> {
  /** REDIS_URL with REDIS_SENTINELS… or REDIS_CLUSTER_NODES: which Redis topology to connect to. */
  redis: RedisTarget;
  /** Parsed ZIMAGE_UPSTREAMS; empty when unset (the api does not need upstreams to accept jobs). */
  upstreams: UpstreamConfig[];
  /** WEBHOOK_ALLOW_PRIVATE and WEBHOOK_ALLOWLIST, as the SSRF guard takes them. */
  webhookPolicy: { allowPrivate: boolean; allowlist: string[] };
  /** WEBHOOK_RETRY_SCHEDULE in seconds. */
  webhookSchedule: number[];
}

/** Thrown for invalid configuration; the message names the variable so an operator can fix it. */
export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

/**
 * Variables whose value is never printed, even when it is wrong: keys, tokens, secrets, passwords and
 * credentials by name (ADMIN_API_KEY, METRICS_TOKEN, RESULT_URL_SECRET, AWS_SECRET_ACCESS_KEY, …),
 * and URLs, which may carry a password (`redis://:pw@host`). A new variable named like a secret is
 * covered without anyone remembering to list it.
 */
const SECRET_VARIABLE = /KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|^AWS_|_URLS?$|UPSTREAMS/;

/** `NAME="value"` for a harmless variable, the bare name for one that may hold a secret. */
export function describeVariable(name: string, value: string | undefined): string {
  return SECRET_VARIABLE.test(name) ? name : `${name}=${JSON.stringify(value)}`;
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings count as unset, as in most shells' `VAR= cmd`.
  const cleaned = Object.fromEntries(
    Object.keys(configSchema.shape).map((k) => [k, env[k] === "" ? undefined : env[k]]),
  );
  const parsed = configSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map(
        (i) => `${describeVariable(String(i.path[0]), env[String(i.path[0])])}: ${i.message}`,
      ),
    );
  }
  const { ZIMAGE_UPSTREAMS, ...rest } = parsed.data;
  const storageProblems = [
    rest.STORAGE === "s3" && !rest.S3_BUCKET ? "S3_BUCKET: required when STORAGE=s3" : null,
    !rest.AWS_ACCESS_KEY_ID !== !rest.AWS_SECRET_ACCESS_KEY
      ? "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: set both, or neither to use the AWS default credential chain"
      : null,
  ].filter((p) => p !== null);
  if (storageProblems.length > 0) throw new ConfigError(storageProblems);
  let upstreams: UpstreamConfig[] = [];
  if (ZIMAGE_UPSTREAMS) {
    try {
      upstreams = parseUpstreams(ZIMAGE_UPSTREAMS);
    } catch (err) {
      throw new ConfigError([
        // The value is not repeated: its URLs may carry credentials (parseUpstreams names the entry).
        `ZIMAGE_UPSTREAMS: ${(err as Error).message}`,
      ]);
    }
  }
  return {
    ...rest,
    redis: redisTarget(rest),
    upstreams,
    webhookPolicy: {
      allowPrivate: rest.WEBHOOK_ALLOW_PRIVATE,
      allowlist: rest.WEBHOOK_ALLOWLIST.split(",")
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
    },
    webhookSchedule: rest.WEBHOOK_RETRY_SCHEDULE.split(",").map(Number),
  };
}

/**
 * The Redis topology from REDIS_URL, REDIS_SENTINELS and REDIS_CLUSTER_NODES. On a Cluster the queue
 * prefix must carry a hash tag (`{zimage}`): every key the gateway writes starts with the prefix, so
 * the tag puts them all in one slot and every Lua script, MULTI and BullMQ call stays in that slot
 * (no CROSSSLOT). The prefix is not wrapped silently: it is the name of every key, which an operator
 * reads and migrates, so it changes only when they write it.
 */
function redisTarget(c: Omit<RawConfig, "ZIMAGE_UPSTREAMS">): RedisTarget {
  const nodes = (name: "REDIS_SENTINELS" | "REDIS_CLUSTER_NODES", value: string) => {
    try {
      const list = parseRedisNodes(value);
      if (list.length === 0) throw new Error("no host:port given");
      return list;
    } catch (err) {
      throw new ConfigError([`${name}: ${(err as Error).message} (expected host:port,host:port,…)`]);
    }
  };
  if (c.REDIS_SENTINELS && c.REDIS_CLUSTER_NODES) {
    throw new ConfigError([
      "REDIS_SENTINELS and REDIS_CLUSTER_NODES are both set: choose one Redis topology",
    ]);
  }
  if (c.REDIS_SENTINELS) {
    return {
      kind: "sentinel",
      url: c.REDIS_URL,
      sentinels: nodes("REDIS_SENTINELS", c.REDIS_SENTINELS),
      name: c.REDIS_SENTINEL_NAME,
      ...(c.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: c.REDIS_SENTINEL_PASSWORD } : {}),
    };
  }
  if (c.REDIS_CLUSTER_NODES) {
    if (!/\{[^}]+\}/.test(c.QUEUE_PREFIX)) {
      throw new ConfigError([
        `${describeVariable("QUEUE_PREFIX", c.QUEUE_PREFIX)}: Redis Cluster (REDIS_CLUSTER_NODES) needs a hash tag ` +
          `in the prefix so all of the gateway's keys share one slot, e.g. QUEUE_PREFIX={${c.QUEUE_PREFIX}}`,
      ]);
    }
    return { kind: "cluster", url: c.REDIS_URL, nodes: nodes("REDIS_CLUSTER_NODES", c.REDIS_CLUSTER_NODES) };
  }
  return { kind: "standalone", url: c.REDIS_URL };
}

/** Loads config or exits the process with the problem printed: bad config must never start half a service. */
export function loadConfigOrExit(env: Record<string, string | undefined> = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
