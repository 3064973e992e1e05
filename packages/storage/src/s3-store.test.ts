import { readFile, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { HeadObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { type PrivateS3, S3RVER_CREDENTIALS, startS3 } from "@zimage/testkit/standalone";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createStore, storeConfigOf } from "./create-store";
import { ObjectIntegrityError, ObjectNotFoundError } from "./errors";
import { S3Store, type S3StoreOptions } from "./s3-store";

// What only the S3 store can show: checksums on the wire, integrity checks on read, the prefix in the
// bucket, content types. What both stores promise is in object-store.contract.test.ts.
let s3: PrivateS3;
const stores: S3Store[] = [];
let n = 0;

beforeAll(async () => {
  s3 = await startS3();
});
afterEach(() => {
  for (const s of stores.splice(0)) s.client.destroy();
});
afterAll(() => s3.stop());

function makeStore(opts: Partial<S3StoreOptions> = {}): S3Store {
  const store = new S3Store({
    bucket: s3.bucket,
    prefix: `s3-${++n}`,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
    ...opts,
  });
  stores.push(store);
  return store;
}

/** Where s3rver keeps an object's bytes, so a test can damage them as a faulty server or disk would. */
const fileOf = (store: S3Store, key: string) =>
  path.join(s3.dir, s3.bucket, `${store.prefix}${key}._S3rver_object`);

/** Rewrites the next request's body just before it is sent (after Content-MD5 and the signature). */
function tamperNextBody(store: S3Store, change: (body: Buffer) => unknown): void {
  let done = false;
  store.client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { body?: unknown };
      if (!done && request.body instanceof Uint8Array) {
        done = true;
        request.body = change(Buffer.from(request.body));
      }
      return next(args);
    },
    { step: "deserialize", name: `tamper${++n}` },
  );
}

/** A body that sends its first half and then drops the connection, as a crashed client or a cut network does. */
function cutOff(body: Buffer): Readable {
  const stream = Readable.from([]);
  stream.pipe = <T extends NodeJS.WritableStream>(dest: T): T => {
    dest.write(body.subarray(0, body.length >> 1));
    (dest as unknown as { destroy(err: Error): void }).destroy(new Error("connection cut off mid-body"));
    return dest;
  };
  return stream;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<{ bytes: number; error: unknown }> {
  let bytes = 0;
  try {
    for await (const chunk of stream) bytes += (chunk as Buffer).length;
    return { bytes, error: null };
  } catch (error) {
    return { bytes, error };
  }
}

describe("a partial upload is never stored or served", () => {
  it("a body changed in transit is refused by its Content-MD5, and the old object stays whole", async () => {
    const store = makeStore();
    const old = Buffer.alloc(10_000, 1);
    await store.put("results/j/0.png", old);
    tamperNextBody(store, (body) => body.fill(9, 0, 10));
    await expect(store.put("results/j/0.png", Buffer.alloc(10_000, 2))).rejects.toMatchObject({
      name: "BadDigest",
    });
    expect((await store.get("results/j/0.png")).equals(old)).toBe(true);
  });

  it("an upload cut off mid-body leaves no object, and does not replace the old one", async () => {
    // One attempt: the SDK's retries would only cut the same body off again, more slowly.
    const once = makeStore({
      client: new S3Client({
        endpoint: s3.endpoint,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: S3RVER_CREDENTIALS,
        maxAttempts: 1,
        requestChecksumCalculation: "WHEN_REQUIRED",
      }),
    });
    tamperNextBody(once, cutOff);
    await expect(once.put("inputs/j/input.png", Buffer.alloc(200_000, 3))).rejects.toThrow();
    expect(await once.exists("inputs/j/input.png")).toBe(false);
    await expect(once.get("inputs/j/input.png")).rejects.toBeInstanceOf(ObjectNotFoundError);

    const old = Buffer.alloc(5_000, 4);
    await once.put("inputs/j/input.png", old);
    tamperNextBody(once, cutOff);
    await expect(once.put("inputs/j/input.png", Buffer.alloc(200_000, 5))).rejects.toThrow();
    expect((await once.get("inputs/j/input.png")).equals(old)).toBe(true);
  });
});

describe("an object damaged on the server is never served as whole", () => {
  it("a truncated object: get refuses it, stream ends in an error short of its size", async () => {
    const store = makeStore();
    await store.put("results/j/0.png", Buffer.alloc(100_000, 7));
    await truncate(fileOf(store, "results/j/0.png"), 60_000);
    await expect(store.get("results/j/0.png")).rejects.toBeInstanceOf(ObjectIntegrityError);
    const { stream, size } = await store.stream("results/j/0.png");
    const read = await readAll(stream);
    expect(read.error).toBeInstanceOf(ObjectIntegrityError);
    expect(read.bytes).toBeLessThan(size);
  });

  it("a changed byte of the same length: get refuses it, stream never delivers every byte", async () => {
    const store = makeStore();
    await store.put("results/j/0.png", Buffer.alloc(100_000, 7));
    const file = fileOf(store, "results/j/0.png");
    const bytes = await readFile(file);
    bytes[99_999] = 8;
    await writeFile(file, bytes);
    await expect(store.get("results/j/0.png")).rejects.toBeInstanceOf(ObjectIntegrityError);
    const { stream, size } = await store.stream("results/j/0.png");
    expect(size).toBe(100_000);
    const read = await readAll(stream);
    expect(read.error).toBeInstanceOf(ObjectIntegrityError);
    // The last chunk is held back until the hash is checked: an HTTP client sees a short body.
    expect(read.bytes).toBeLessThan(size);
  });
});

it("keeps the content type, defaulting to application/octet-stream", async () => {
  const store = makeStore();
  await store.put("results/j/0.png", Buffer.from("png"), { contentType: "image/png" });
  await store.put("results/j/raw", Buffer.from("bytes"));
  const head = (key: string) =>
    store.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: `${store.prefix}${key}` }));
  expect((await head("results/j/0.png")).ContentType).toBe("image/png");
  expect((await head("results/j/raw")).ContentType).toBe("application/octet-stream");
});

it("keeps every object under its prefix, and two prefixes in one bucket do not touch", async () => {
  const shared = `shared-${n}`;
  const a = makeStore({ prefix: `${shared}/a` });
  const b = makeStore({ prefix: `${shared}/b/` });
  expect(a.prefix.endsWith("/a/")).toBe(true);
  await a.put("results/j/0.png", Buffer.from("a"));
  await b.put("results/j/0.png", Buffer.from("b"));
  const listed = await a.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${shared}/` }));
  expect(listed.Contents?.map((o) => o.Key).sort()).toEqual([
    `${a.prefix}results/j/0.png`,
    `${b.prefix}results/j/0.png`,
  ]);
  expect(await a.deletePrefix("results/")).toBe(1);
  expect((await b.get("results/j/0.png")).toString()).toBe("b");
});

it("a storage failure is an error, not a missing object", async () => {
  const noBucket = makeStore({ bucket: "no-such-bucket" });
  const get = noBucket.get("results/j/0.png");
  await expect(get).rejects.toThrow();
  await expect(get).rejects.not.toBeInstanceOf(ObjectNotFoundError);
  const badKey = makeStore({ credentials: { accessKeyId: "nobody", secretAccessKey: "wrong" } });
  await expect(badKey.exists("results/j/0.png")).rejects.toThrow();
  await expect(badKey.stream("results/j/0.png")).rejects.not.toBeInstanceOf(ObjectNotFoundError);
});

it("createStore builds an S3 store from the STORAGE and S3_ settings", async () => {
  const cfg = storeConfigOf({
    STORAGE: "s3",
    DATA_DIR: ".data",
    S3_BUCKET: s3.bucket,
    S3_PREFIX: "from-config",
    S3_ENDPOINT: s3.endpoint,
    S3_FORCE_PATH_STYLE: true,
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
  });
  const store = createStore(cfg);
  expect(store).toBeInstanceOf(S3Store);
  stores.push(store as S3Store);
  await store.put("a/b", Buffer.from("x"));
  expect((store as S3Store).prefix).toBe("from-config/");
  expect(await store.exists("a/b")).toBe(true);
  expect(storeConfigOf({ STORAGE: "filesystem", DATA_DIR: "/d", S3_FORCE_PATH_STYLE: false })).toEqual({
    kind: "fs",
    root: "/d",
  });
  // No keys given: the SDK's default chain finds credentials (environment, files, roles).
  expect(
    storeConfigOf({ STORAGE: "s3", DATA_DIR: "/d", S3_BUCKET: "b", S3_FORCE_PATH_STYLE: false }),
  ).toEqual({ kind: "s3", bucket: "b", forcePathStyle: false });
});
