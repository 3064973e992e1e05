import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { FilesystemStore, type ObjectStore, S3Store } from "@zimage/storage";
import { startProcess } from "@zimage/testkit/standalone";
import { PNG } from "pngjs";
import { load } from "./redis-topologies";
import { percentile } from "./stats";

export const STORAGE_HEADING = "## 9. Result storage: filesystem and S3";

export interface StoragePlan {
  /** Timed puts and gets per store and image size (after 5 untimed ones). */
  ops: number;
}

export const STORAGE_DEFAULTS: StoragePlan = { ops: 60 };

/**
 * A PNG shaped like a generated image: a gradient with per-pixel noise, which deflate cannot
 * shrink much (a model's output is no flat gradient), so a 1024×1024 one is ~2 MB as real ones are.
 */
export function noisyPng(width: number, height: number): Buffer {
  const png = new PNG({ width, height, colorType: 2, inputHasAlpha: true });
  const noise = randomBytes(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    const x = p % width;
    const y = Math.floor(p / width);
    png.data[p * 4] = ((x >> 2) + (noise[p * 3]! & 31)) & 255;
    png.data[p * 4 + 1] = ((y >> 2) + (noise[p * 3 + 1]! & 31)) & 255;
    png.data[p * 4 + 2] = (((x ^ y) >> 3) + (noise[p * 3 + 2]! & 31)) & 255;
    png.data[p * 4 + 3] = 255;
  }
  return PNG.sync.write(png, { colorType: 2 });
}

interface Row {
  store: string;
  image: string;
  put: number[];
  get: number[];
}

/**
 * `ops` puts, each under a new key as each job's result has its own (results/<jobId>/0.png), then a get
 * of each, after 5 untimed of each. The gets read objects put a moment earlier, not the one just put:
 * s3rver answers a PUT of more than 2 MiB before the file is fully on its disk, and a GET at once may
 * read it short (S3Store's length and SHA-256 check refuses that read; S3 itself and MinIO are
 * read-after-write consistent).
 */
async function timeOps(
  store: ObjectStore,
  image: Buffer,
  label: string,
  ops: number,
): Promise<[number[], number[]]> {
  const keys = Array.from({ length: ops + 5 }, (_, i) => `results/bench-${label}-${i}/0.png`);
  const timed = async (fn: (key: string) => Promise<unknown>) => {
    const ms: number[] = [];
    for (const [i, key] of keys.entries()) {
      const t = performance.now();
      await fn(key);
      if (i >= 5) ms.push(performance.now() - t);
    }
    return ms;
  };
  const put = await timed((key) => store.put(key, image, { contentType: "image/png" }));
  const get = await timed(async (key) => {
    const back = await store.get(key);
    if (back.length !== image.length)
      throw new Error(`${label}: read ${back.length} bytes of ${image.length}`);
  });
  return [put, get];
}

/**
 * Issue #18, benchmark: `ObjectStore` put and get of a result PNG on the filesystem store (fsync of file
 * and directory, on this machine's disk) and on the S3 store against s3rver in its own process on
 * loopback, in one run. Both stores are timed on the same images, alternating per size.
 */
export async function storageLatency(
  plan: StoragePlan,
  log: (msg: string) => void,
): Promise<{ markdown: string; seconds: number }> {
  const started = Date.now();
  const loadBefore = load();
  const dir = await mkdtemp(join(tmpdir(), "zimage-bench-store-"));
  const server = startProcess(process.execPath, [
    "--import",
    "tsx",
    resolve(import.meta.dirname, "s3-server-process.ts"),
  ]);
  const rows: Row[] = [];
  try {
    await server.waitForOutput(/s3 ready/);
    const env = JSON.parse(/s3 ready (.*)/.exec(server.output())![1]!) as Record<string, string>;
    const stores: Array<[string, ObjectStore]> = [
      ["filesystem (ext4, fsync)", new FilesystemStore({ root: dir })],
      [
        "S3 (s3rver, loopback)",
        new S3Store({
          bucket: env.S3_BUCKET!,
          endpoint: env.S3_ENDPOINT!,
          forcePathStyle: true,
          region: env.AWS_REGION!,
          credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! },
        }),
      ],
    ];
    for (const [w, h] of [
      [1024, 1024],
      [256, 256],
    ] as const) {
      const image = noisyPng(w, h);
      const label = `${w}×${h} PNG, ${(image.length / 1024).toFixed(0)} KiB`;
      for (const [name, store] of stores) {
        log(`storage: ${name}, ${label}, ${plan.ops} puts and gets`);
        const [put, get] = await timeOps(store, image, `${w}-${name.split(" ")[0]}`, plan.ops);
        rows.push({ store: name, image: label, put, get });
      }
    }
  } finally {
    await server.stop("SIGTERM");
    await rm(dir, { recursive: true, force: true });
  }
  const loadAfter = load();
  const ms = (v: number[], p: number) => `${percentile(v, p).toFixed(2)} ms`;
  const table = rows
    .map(
      (r) =>
        `| ${r.image} | ${r.store} | ${ms(r.put, 50)} | ${ms(r.put, 95)} | ${ms(r.get, 50)} | ${ms(r.get, 95)} |`,
    )
    .join("\n");
  const markdown = `\`ObjectStore.put\` and \`get\` of one result PNG, ${plan.ops} times per store and size after 5 untimed ones, each put under a
new key (\`results/<id>/0.png\`), then each read back, one at a time. The PNGs are noisy gradients (deflate cannot shrink them
much, as with a model's output). Filesystem: \`FilesystemStore\` in a temp dir on this machine's disk (write to a temp file,
fsync, rename, fsync the directory). S3: \`S3Store\` (Content-MD5 on put, length and SHA-256 checked on get) against s3rver in
its own Node process on loopback, which itself writes each object to files on the same disk. Nearest-rank percentiles, one run.

**Noisy figures.** The two cores were shared with other work during the run (load average ${loadBefore} before, ${loadAfter} after).
s3rver is a test server on the same machine: a real S3 or MinIO across a network adds its round trips and has its own
throughput; read this table as the store's own cost (hashing, HTTP, SDK) over loopback, not as a cloud figure.

| image | store | put p50 | put p95 | get p50 | get p95 |
|---|---|---|---|---|---|
${table}`;
  return { markdown, seconds: (Date.now() - started) / 1000 };
}
