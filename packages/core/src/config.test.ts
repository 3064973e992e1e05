import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ConfigError, configSchema, loadConfig } from "./config";

describe("loadConfig", () => {
  it("applies the documented defaults when nothing is set", () => {
    const cfg = loadConfig({});
    expect(cfg.PORT).toBe(8080);
    expect(cfg.HOST).toBe("127.0.0.1");
    expect(cfg.REDIS_URL).toBe("redis://127.0.0.1:6379");
    expect(cfg.IMAGE_TIMEOUT_SECONDS).toBe(600);
    expect(cfg.upstreams).toEqual([]);
  });

  it("names the offending variable in the error", () => {
    expect(() => loadConfig({ PORT: "eighty" })).toThrow(/PORT="eighty"/);
    expect(() => loadConfig({ REDIS_URL: "http://x" })).toThrow(ConfigError);
    expect(() => loadConfig({ LOG_PRETTY: "maybe" })).toThrow(/LOG_PRETTY/);
  });

  it("never prints the value of a secret variable, only its name and the problem (issue #17)", () => {
    const secrets = {
      ADMIN_API_KEY: "admin-secret-too-short",
      METRICS_TOKEN: "tok-secret",
      RESULT_URL_SECRET: "url-secret-short",
      REDIS_URL: "http://:redis-password@redis:6379",
      PUBLIC_URL: "https//gateway:password@example",
    };
    let err: unknown;
    try {
      loadConfig(secrets);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const { message, problems } = err as ConfigError;
    for (const value of Object.values(secrets)) expect(message).not.toContain(value);
    expect(message).not.toMatch(/secret|password|tok-/);
    expect(problems.sort()).toEqual([
      "ADMIN_API_KEY: must be at least 32 characters",
      "METRICS_TOKEN: must be at least 16 characters",
      "PUBLIC_URL: must be an absolute http(s) URL",
      "REDIS_URL: must start with redis:// or rediss://",
      "RESULT_URL_SECRET: must be at least 32 characters",
    ]);
    // Harmless values are still echoed, which is what helps an operator fix a typo.
    expect(() => loadConfig({ PORT: "eighty" })).toThrow(/PORT="eighty"/);
  });

  it("reports every bad variable at once", () => {
    try {
      loadConfig({ PORT: "-1", IMAGE_TIMEOUT_SECONDS: "0" });
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).problems.map((p) => p.split(/[=:]/)[0]).sort()).toEqual([
        "IMAGE_TIMEOUT_SECONDS",
        "PORT",
      ]);
    }
  });

  it("parses ZIMAGE_UPSTREAMS into named upstreams", () => {
    const cfg = loadConfig({ ZIMAGE_UPSTREAMS: "gpu0=http://10.0.0.5:8003/, gpu1=https://gpu1.lan" });
    // With no options, nothing is pinned and no parameter rules apply.
    const plain = { pin: { generate: "auto", edit: "auto" }, params: { defaults: {}, bounds: {} } };
    expect(cfg.upstreams).toEqual([
      { name: "gpu0", url: "http://10.0.0.5:8003", ...plain },
      { name: "gpu1", url: "https://gpu1.lan", ...plain },
    ]);
    expect(loadConfig({ ZIMAGE_UPSTREAMS: "http://127.0.0.1:8003" }).upstreams[0]?.name).toBe("default");
  });

  it("rejects bad upstream lists with a message naming ZIMAGE_UPSTREAMS", () => {
    expect(() => loadConfig({ ZIMAGE_UPSTREAMS: "a=ftp://x" })).toThrow(/ZIMAGE_UPSTREAMS.*http or https/);
    expect(() => loadConfig({ ZIMAGE_UPSTREAMS: "a=http://x,a=http://y" })).toThrow(/used twice/);
    expect(() => loadConfig({ ZIMAGE_UPSTREAMS: "a=not a url" })).toThrow(/invalid URL/);
    // The value is not echoed: a URL may carry credentials.
    expect(() => loadConfig({ ZIMAGE_UPSTREAMS: "a=http://u:hunter2@x;steps=0" })).toThrow(
      /^(?![\s\S]*hunter2)[\s\S]*option "steps"/,
    );
  });

  it("parses the webhook policy and retry schedule", () => {
    const cfg = loadConfig({
      WEBHOOK_ALLOWLIST: " Hooks.LAN , ,ci.local",
      WEBHOOK_RETRY_SCHEDULE: "1,2.5,60",
    });
    expect(cfg.webhookPolicy).toEqual({ allowPrivate: false, allowlist: ["hooks.lan", "ci.local"] });
    expect(cfg.webhookSchedule).toEqual([1, 2.5, 60]);
    expect(() => loadConfig({ WEBHOOK_RETRY_SCHEDULE: "5,,30" })).toThrow(/WEBHOOK_RETRY_SCHEDULE/);
  });

  it("reads the storage settings: filesystem by default, S3 only with a bucket", () => {
    expect(loadConfig({}).STORAGE).toBe("filesystem");
    const cfg = loadConfig({
      STORAGE: "s3",
      S3_BUCKET: "zimage-results",
      S3_PREFIX: "prod/zimage/",
      S3_ENDPOINT: "http://127.0.0.1:9000",
      S3_FORCE_PATH_STYLE: "true",
      AWS_REGION: "eu-west-1",
    });
    expect(cfg).toMatchObject({
      STORAGE: "s3",
      S3_BUCKET: "zimage-results",
      S3_PREFIX: "prod/zimage/",
      S3_ENDPOINT: "http://127.0.0.1:9000",
      S3_FORCE_PATH_STYLE: true,
      AWS_REGION: "eu-west-1",
    });
    expect(() => loadConfig({ STORAGE: "s3" })).toThrow(/S3_BUCKET: required when STORAGE=s3/);
    expect(() => loadConfig({ STORAGE: "gcs" })).toThrow(/STORAGE="gcs"/);
    expect(() => loadConfig({ S3_BUCKET: "Not_A_Bucket" })).toThrow(/S3_BUCKET/);
    for (const prefix of ["/abs", "a//b", "a/../b", "..", "a b", "./x"])
      expect(() => loadConfig({ S3_PREFIX: prefix }), prefix).toThrow(/S3_PREFIX/);
    expect(loadConfig({ S3_PREFIX: "a/..b/c" }).S3_PREFIX).toBe("a/..b/c");
  });

  it("takes AWS keys in pairs and never prints them", () => {
    const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let err: unknown;
    try {
      loadConfig({ STORAGE: "s3", S3_BUCKET: "b-1", AWS_SECRET_ACCESS_KEY: secret });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: set both/);
    expect((err as ConfigError).message).not.toContain(secret);
    expect(() => loadConfig({ AWS_REGION: "" })).not.toThrow();
    const both = loadConfig({ AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY: secret });
    expect(both.AWS_SECRET_ACCESS_KEY).toBe(secret);
  });

  it("treats empty strings as unset", () => {
    expect(loadConfig({ PORT: "" }).PORT).toBe(8080);
  });

  it("chooses the Redis topology from REDIS_SENTINELS or REDIS_CLUSTER_NODES, standalone by default", () => {
    expect(loadConfig({}).redis).toEqual({ kind: "standalone", url: "redis://127.0.0.1:6379" });
    expect(
      loadConfig({ REDIS_SENTINELS: "10.0.0.1:26379, [::1]:26380", REDIS_SENTINEL_NAME: "gw" }).redis,
    ).toEqual({
      kind: "sentinel",
      url: "redis://127.0.0.1:6379",
      sentinels: [
        { host: "10.0.0.1", port: 26379 },
        { host: "::1", port: 26380 },
      ],
      name: "gw",
    });
    const cluster = loadConfig({ REDIS_CLUSTER_NODES: "r1:7000,r2:7000", QUEUE_PREFIX: "{zimage}" });
    expect(cluster.redis).toMatchObject({
      kind: "cluster",
      nodes: [
        { host: "r1", port: 7000 },
        { host: "r2", port: 7000 },
      ],
    });
  });

  it("refuses a Cluster without a hash tag in QUEUE_PREFIX, two topologies at once, and bad node lists", () => {
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: "r1:7000" })).toThrow(/QUEUE_PREFIX=\{zimage\}/);
    expect(() =>
      loadConfig({ REDIS_CLUSTER_NODES: "r1:7000", REDIS_SENTINELS: "s:26379", QUEUE_PREFIX: "{z}" }),
    ).toThrow(/both set/);
    expect(() => loadConfig({ REDIS_SENTINELS: "s1" })).toThrow(/REDIS_SENTINELS: "s1" is not host:port/);
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: ",", QUEUE_PREFIX: "{z}" })).toThrow(
      /REDIS_CLUSTER_NODES/,
    );
    expect(loadConfig({ QUEUE_PREFIX: "app{zimage}" }).QUEUE_PREFIX).toBe("app{zimage}");
    for (const bad of ["{}", "{a}{b}", "a{b", "a}b", "a b"]) {
      expect(() => loadConfig({ QUEUE_PREFIX: bad }), bad).toThrow(/QUEUE_PREFIX/);
    }
  });

  it("has every variable in the README's configuration table", () => {
    const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
    const documented = new Set([...readme.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => m[1]));
    expect(Object.keys(configSchema.shape).filter((k) => !documented.has(k))).toEqual([]);
  });
});
