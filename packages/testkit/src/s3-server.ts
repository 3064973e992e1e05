import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import S3rver from "s3rver";
import { freePort } from "./free-port";

const require = createRequire(import.meta.url);
// s3rver's own error type, so a refusal below is answered as S3 answers it (XML body, status, code).
const S3Error = require("s3rver/lib/models/error") as new (
  code: string,
  message: string,
  detail?: Record<string, string>,
) => Error;

/** s3rver's default account: the credentials its signature check accepts. */
export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

export interface PrivateS3 {
  /** `http://127.0.0.1:<port>` (or the `address` asked for): use with path-style addressing. */
  endpoint: string;
  bucket: string;
  /** s3rver's data directory: `<dir>/<bucket>/<key>._S3rver_object` holds an object's bytes. */
  dir: string;
  /** The environment a gateway process needs to use this server (STORAGE=s3 and the S3_/AWS_ variables). */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Starts s3rver (a fake S3 speaking the real protocol) on a free loopback port (or on `address`, one
 * of the test's own virtual interfaces) with its own temp directory and one bucket, so tests use S3
 * over HTTP without a cloud account.
 *
 * s3rver 3.7 differs from S3 in two ways that matter for a store's integrity: it neither checks
 * Content-MD5 nor waits for the whole body before writing, so a cut-off or corrupted upload would
 * become a partial object. S3 (and MinIO, R2, …) answer 400 BadDigest or IncompleteBody and store
 * nothing. A first middleware gives s3rver that behaviour for object PUTs: the body is read whole,
 * checked against Content-Length and Content-MD5, and only then handed on.
 */
export async function startS3(opts: { bucket?: string; address?: string } = {}): Promise<PrivateS3> {
  const bucket = opts.bucket ?? "zimage-test";
  const dir = await mkdtemp(join(tmpdir(), "zimage-s3rver-"));
  const port = await freePort();
  const address = opts.address ?? "127.0.0.1";
  const server = new S3rver({
    address,
    port,
    directory: dir,
    silent: true,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  // Koa composes its middleware list when the server starts listening, so this runs first.
  (server as unknown as { middleware: unknown[] }).middleware.unshift(wholeVerifiedPut);
  try {
    await server.run();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const endpoint = `http://${address}:${port}`;
  return {
    endpoint,
    bucket,
    dir,
    env: {
      STORAGE: "s3",
      S3_BUCKET: bucket,
      S3_ENDPOINT: endpoint,
      S3_FORCE_PATH_STYLE: "true",
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    },
    stop: async () => {
      await server.close().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

interface KoaContext {
  method: string;
  path: string;
  query: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
  req: IncomingMessage | Readable;
}

/** An object PUT (not a part upload or a copy) is stored only once its whole body arrived intact. */
async function wholeVerifiedPut(ctx: KoaContext, next: () => Promise<void>): Promise<void> {
  const objectPut =
    ctx.method === "PUT" &&
    ctx.path.split("/").filter(Boolean).length >= 2 &&
    // Part uploads and other sub-resources (?uploadId, ?tagging, …) are left to s3rver; the SDK
    // marks a plain PutObject with ?x-id=PutObject.
    Object.keys(ctx.query).every((name) => name === "x-id") &&
    ctx.headers["x-amz-copy-source"] === undefined;
  if (!objectPut) return next();
  const chunks: Buffer[] = [];
  // A client that goes away mid-body rejects this read: nothing is handed on, nothing is stored.
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) chunks.push(chunk);
  const body = Buffer.concat(chunks);
  const declared = Number(ctx.headers["content-length"]);
  if (Number.isFinite(declared) && declared !== body.length)
    throw new S3Error(
      "IncompleteBody",
      "You did not provide the number of bytes specified by the Content-Length HTTP header",
    );
  const md5 = ctx.headers["content-md5"];
  if (typeof md5 === "string" && createHash("md5").update(body).digest("base64") !== md5)
    throw new S3Error("BadDigest", "The Content-MD5 you specified did not match what we received.");
  ctx.req = Readable.from([body]);
  return next();
}
