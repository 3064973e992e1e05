import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createStore } from "./create-store";
import { InvalidKeyError, ObjectNotFoundError } from "./errors";
import { FilesystemStore } from "./filesystem-store";

let root: string;
let store: FilesystemStore;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), "zimage-storage-"));
  store = new FilesystemStore({ root: path.join(root, "store") });
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Every file under a directory, relative, so tests can see exactly what is on disk. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe("FilesystemStore", () => {
  it("round-trips bytes and reports size and sha256", async () => {
    const data = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]);
    const stored = await store.put("results/job1/0.png", data, { contentType: "image/png" });
    expect(stored).toEqual({
      key: "results/job1/0.png",
      size: 8,
      sha256: createHash("sha256").update(data).digest("hex"),
    });
    expect((await store.get("results/job1/0.png")).equals(data)).toBe(true);
    expect(await store.exists("results/job1/0.png")).toBe(true);
    // Stored where an operator would look for it.
    expect((await readFile(path.join(root, "store/results/job1/0.png"))).equals(data)).toBe(true);
  });

  it("streams an object with its size", async () => {
    const data = Buffer.alloc(300_000, 7);
    await store.put("inputs/job2/input.png", data);
    const { stream, size } = await store.stream("inputs/job2/input.png");
    expect(size).toBe(300_000);
    expect((await collect(stream)).equals(data)).toBe(true);
  });

  it("overwrites atomically and leaves no temp files behind", async () => {
    await store.put("results/job1/0.png", Buffer.from("old"));
    const writes = Array.from({ length: 20 }, (_, i) =>
      store.put("results/job1/0.png", Buffer.alloc(50_000 + i, i)),
    );
    // Reads racing the writes see one complete version or another, never a torn mix.
    const reads = Array.from({ length: 20 }, () => store.get("results/job1/0.png"));
    await Promise.all(writes);
    for (const read of await Promise.all(reads)) {
      const whole = read.equals(Buffer.from("old")) || read.every((b) => b === read[0]);
      expect(whole && (read.length === 3 || read.length === 50_000 + read[0]!)).toBe(true);
    }
    expect(await filesUnder(store.root)).toEqual(["results/job1/0.png"]);
  });

  it("a failed write leaves neither a partial object nor a temp file", async () => {
    await store.put("results/job1", Buffer.from("a file where a directory is needed"));
    await expect(store.put("results/job1/0.png", Buffer.from("x"))).rejects.toBeInstanceOf(InvalidKeyError);
    await store.put("results/job2/0.png/inner", Buffer.from("a directory where the file should go"));
    await expect(store.put("results/job2/0.png", Buffer.from("x"))).rejects.toBeInstanceOf(InvalidKeyError);
    expect(await filesUnder(store.root)).toEqual(["results/job1", "results/job2/0.png/inner"]);
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
    // A path through a file is not an object either.
    await expect(store.get("results/job1/0.png/x")).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it("delete is idempotent", async () => {
    await store.put("results/job1/0.png", Buffer.from("x"));
    await store.delete("results/job1/0.png");
    expect(await store.exists("results/job1/0.png")).toBe(false);
    await expect(store.delete("results/job1/0.png")).resolves.toBeUndefined();
    await expect(store.delete("never/was/here.png")).resolves.toBeUndefined();
    await expect(store.delete("results/job1")).resolves.toBeUndefined();
  });

  it("deletePrefix removes exactly the objects under a prefix and counts them", async () => {
    for (const key of [
      "results/job1/0.png",
      "results/job1/1.png",
      "results/job10/0.png",
      "inputs/job1/input.png",
    ]) {
      await store.put(key, Buffer.from(key));
    }
    expect(await store.deletePrefix("results/job1/")).toBe(2);
    expect(await filesUnder(store.root)).toEqual(["inputs/job1/input.png", "results/job10/0.png"]);
    expect(await store.deletePrefix("results/job1/")).toBe(0);
    expect(await store.deletePrefix("missing/")).toBe(0);
    // A plain string prefix, as in S3.
    await store.put("results/job1/0.png", Buffer.from("again"));
    expect(await store.deletePrefix("results/job1")).toBe(2);
    expect(await filesUnder(store.root)).toEqual(["inputs/job1/input.png"]);
  });

  it("deletePrefix on a fresh store with no root directory yet returns 0", async () => {
    expect(await store.deletePrefix("results/")).toBe(0);
    expect(await store.deletePrefix("res")).toBe(0);
  });

  describe("path traversal is impossible", () => {
    const attempts = ["../x", "/etc/passwd", "a/../../b", "a\\b", "a//b", "", "..", "./x", "a/b/"];

    it.each(attempts)("every operation refuses %j", async (key) => {
      await expect(store.put(key, Buffer.from("x"))).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.get(key)).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.stream(key)).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.exists(key)).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.delete(key)).rejects.toBeInstanceOf(InvalidKeyError);
    });

    it.each(["", "../", "/etc/", "a/../", "..", "../../"])("deletePrefix refuses %j", async (prefix) => {
      await expect(store.deletePrefix(prefix)).rejects.toBeInstanceOf(InvalidKeyError);
    });

    it("nothing outside the root is touched by refused keys", async () => {
      const outside = path.join(root, "outside.txt");
      await writeFile(outside, "keep me");
      await expect(store.put("../outside.txt", Buffer.from("overwritten"))).rejects.toBeInstanceOf(
        InvalidKeyError,
      );
      await expect(store.delete("../outside.txt")).rejects.toBeInstanceOf(InvalidKeyError);
      expect(await readFile(outside, "utf8")).toBe("keep me");
    });

    it("a name starting with dots stays inside the root", async () => {
      await store.put("..a/b", Buffer.from("fine"));
      expect(await filesUnder(store.root)).toEqual(["..a/b"]);
    });
  });
});

describe("createStore", () => {
  it("builds a filesystem store from config", async () => {
    const fsStore = createStore({ kind: "fs", root: path.join(root, "cfg") });
    expect(fsStore).toBeInstanceOf(FilesystemStore);
    await fsStore.put("a/b.png", Buffer.from("x"));
    expect(await fsStore.exists("a/b.png")).toBe(true);
  });
});
