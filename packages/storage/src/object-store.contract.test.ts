import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type PrivateS3, startS3 } from "@zimage/testkit/standalone";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { InvalidKeyError, ObjectNotFoundError } from "./errors";
import { FilesystemStore } from "./filesystem-store";
import type { ObjectStore } from "./object-store";
import { S3Store } from "./s3-store";

/**
 * What every ObjectStore promises, run against each implementation: the api, the worker and the
 * sweeper only use this interface, so passing here is what lets STORAGE switch between them.
 * Behaviour only one backend can show (S3's checksums on the wire, the filesystem's temp files)
 * is tested beside that backend.
 */
interface Backend {
  name: string;
  start(): Promise<void>;
  /** A store with nothing in it, isolated from the other tests' stores. */
  fresh(): Promise<ObjectStore>;
  stop(): Promise<void>;
}

const fsBackend = (): Backend => {
  let root = "";
  return {
    name: "filesystem",
    start: async () => {
      root = await mkdtemp(path.join(tmpdir(), "zimage-contract-"));
    },
    fresh: async () => new FilesystemStore({ root: await mkdtemp(path.join(root, "store-")) }),
    stop: () => rm(root, { recursive: true, force: true }),
  };
};

const s3Backend = (): Backend => {
  let s3: PrivateS3 | undefined;
  let n = 0;
  return {
    name: "s3 (s3rver)",
    start: async () => {
      s3 = await startS3();
    },
    // One server for the file; each test gets its own key prefix in the bucket. A page size of 2
    // makes every deletePrefix below span several ListObjectsV2/DeleteObjects pages.
    fresh: async () =>
      new S3Store({
        bucket: s3!.bucket,
        prefix: `t${++n}-${randomBytes(4).toString("hex")}`,
        endpoint: s3!.endpoint,
        forcePathStyle: true,
        region: "us-east-1",
        credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
        pageSize: 2,
      }),
    stop: async () => {
      await s3?.stop();
    },
  };
};

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const sha = (data: Buffer) => createHash("sha256").update(data).digest("hex");

describe.each([fsBackend(), s3Backend()])("ObjectStore contract: $name", (backend) => {
  let store: ObjectStore;
  beforeAll(() => backend.start());
  afterAll(() => backend.stop());
  beforeEach(async () => {
    store = await backend.fresh();
  });
  afterEach(() => {
    (store as S3Store).client?.destroy();
  });

  it("put returns size and sha256 of the bytes, and get returns them unchanged", async () => {
    const data = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]);
    const stored = await store.put("results/job1/0.png", data, { contentType: "image/png" });
    expect(stored).toEqual({ key: "results/job1/0.png", size: 8, sha256: sha(data) });
    expect((await store.get("results/job1/0.png")).equals(data)).toBe(true);
    expect(await store.exists("results/job1/0.png")).toBe(true);
  });

  it("stream returns the bytes with their size", async () => {
    const data = randomBytes(300_000);
    await store.put("inputs/job2/input.png", data, { contentType: "image/png" });
    const { stream, size } = await store.stream("inputs/job2/input.png");
    expect(size).toBe(300_000);
    expect((await collect(stream)).equals(data)).toBe(true);
  });

  it("an empty object is an object", async () => {
    expect(await store.put("results/job1/empty", Buffer.alloc(0))).toMatchObject({ size: 0 });
    expect((await store.get("results/job1/empty")).length).toBe(0);
    expect(await store.exists("results/job1/empty")).toBe(true);
  });

  it("a second put overwrites the first whole", async () => {
    await store.put("results/job1/0.png", Buffer.alloc(50_000, 1));
    const second = Buffer.alloc(20_000, 2);
    expect(await store.put("results/job1/0.png", second)).toMatchObject({
      size: 20_000,
      sha256: sha(second),
    });
    expect((await store.get("results/job1/0.png")).equals(second)).toBe(true);
    const { stream, size } = await store.stream("results/job1/0.png");
    expect(size).toBe(20_000);
    expect((await collect(stream)).equals(second)).toBe(true);
  });

  it("a missing key is ObjectNotFoundError for get and stream, false for exists", async () => {
    await expect(store.get("results/nope/0.png")).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(store.stream("results/nope/0.png")).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(store.get("results/nope/0.png")).rejects.toMatchObject({ key: "results/nope/0.png" });
    expect(await store.exists("results/nope/0.png")).toBe(false);
    await store.put("results/job1/0.png", Buffer.from("x"));
    // A prefix is not an object.
    await expect(store.get("results/job1")).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(store.stream("results/job1")).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(await store.exists("results/job1")).toBe(false);
  });

  it("delete removes one object and is idempotent", async () => {
    await store.put("results/job1/0.png", Buffer.from("x"));
    await store.put("results/job1/1.png", Buffer.from("y"));
    await store.delete("results/job1/0.png");
    expect(await store.exists("results/job1/0.png")).toBe(false);
    await expect(store.get("results/job1/0.png")).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(await store.exists("results/job1/1.png")).toBe(true);
    await expect(store.delete("results/job1/0.png")).resolves.toBeUndefined();
    await expect(store.delete("never/was/here.png")).resolves.toBeUndefined();
  });

  it("deletePrefix removes exactly the objects under a prefix, over several pages, and counts them", async () => {
    const inside = Array.from({ length: 7 }, (_, i) => `results/job1/${i}.png`);
    const outside = ["results/job10/0.png", "results/job2/0.png", "inputs/job1/input.png"];
    await Promise.all([...inside, ...outside].map((key) => store.put(key, Buffer.from(key))));
    expect(await store.deletePrefix("results/job1/")).toBe(7);
    for (const key of inside) expect(await store.exists(key), key).toBe(false);
    for (const key of outside) expect(await store.exists(key), key).toBe(true);
    expect(await store.deletePrefix("results/job1/")).toBe(0);
    expect(await store.deletePrefix("missing/")).toBe(0);
    // A plain string prefix, as in S3: "results/job1" also takes results/job10/.
    await store.put("results/job1/0.png", Buffer.from("again"));
    expect(await store.deletePrefix("results/job1")).toBe(2);
    expect(await store.exists("results/job10/0.png")).toBe(false);
    expect(await store.exists("results/job2/0.png")).toBe(true);
  });

  it("keys may use every allowed character, and each names its own object", async () => {
    const keys = [
      "A-Z_a.z/0-9/x",
      "..a/b",
      "a/..b/c..",
      "results/01JABCDEFGHJKMNPQRSTVWXYZ/0-1.png",
      `deep/${"x".repeat(255)}/y`,
      "a/b/c/d/e/f/g/h",
    ];
    for (const [i, key] of keys.entries()) await store.put(key, Buffer.from(`object ${i}`));
    for (const [i, key] of keys.entries()) expect((await store.get(key)).toString(), key).toBe(`object ${i}`);
    expect(await store.deletePrefix("a/")).toBe(2);
    expect(await store.exists("A-Z_a.z/0-9/x")).toBe(true);
  });

  it.each([
    "../x",
    "/etc/passwd",
    "a/../../b",
    "a\\b",
    "a//b",
    "",
    "./x",
    "a/b/",
    "a b",
    "résumé.png",
    "a/%2e%2e/b",
    "a/b?c",
    "a#b",
  ])("every operation refuses the key %j", async (key) => {
    await expect(store.put(key, Buffer.from("x"))).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(store.get(key)).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(store.stream(key)).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(store.exists(key)).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(store.delete(key)).rejects.toBeInstanceOf(InvalidKeyError);
  });

  it.each(["", "/", "../", "/etc/", "a/../", "a b/"])("deletePrefix refuses %j", async (prefix) => {
    await store.put("a/b", Buffer.from("keep"));
    await expect(store.deletePrefix(prefix)).rejects.toBeInstanceOf(InvalidKeyError);
    expect(await store.exists("a/b")).toBe(true);
  });
});
