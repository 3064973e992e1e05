import { createHash } from "node:crypto";
import { pipeline, type Readable, Transform } from "node:stream";
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { ObjectIntegrityError, ObjectNotFoundError } from "./errors";
import { keySegments, prefixSegments } from "./object-key";
import type { ObjectStore, StoredObject } from "./object-store";

export interface S3StoreOptions {
  bucket: string;
  /** Prepended to every key (`zimage/` → `zimage/results/<jobId>/0.png`); a missing final `/` is added. */
  prefix?: string;
  /** Another S3-compatible server (MinIO, R2, …); unset: AWS S3 for the region. */
  endpoint?: string;
  /** `http://host/bucket/key` instead of `http://bucket.host/key`; most self-hosted servers need it. */
  forcePathStyle?: boolean;
  /** Unset: the SDK's chain (AWS_REGION, the shared config file); with an endpoint, `us-east-1`. */
  region?: string;
  /** Unset: the SDK's default chain (environment, shared files, web identity, container and instance roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Keys listed and deleted per request in deletePrefix; S3 caps both at 1000. */
  pageSize?: number;
  /** For tests and special set-ups: a client made elsewhere (the options above are then ignored). */
  client?: S3Client;
}

/** The user metadata entry (`x-amz-meta-sha256`) holding the hex SHA-256 that put computed. */
const SHA256_METADATA = "sha256";

/**
 * Objects in one S3 bucket under an optional prefix. Keys follow the same rules as the filesystem
 * store (object-key.ts), so a key valid on one store is valid on the other.
 *
 * Integrity, both ways:
 * - put is one PutObject, which S3 applies whole or not at all, with Content-MD5 so the server
 *   refuses a body that was cut off or changed in transit (400 BadDigest / IncompleteBody).
 * - get and stream check the bytes read against the length and the SHA-256 recorded at put time, so
 *   a short or damaged read (or a server that stored a partial object) is an error, never a result.
 */
export class S3Store implements ObjectStore {
  readonly bucket: string;
  readonly prefix: string;
  readonly client: S3Client;
  private readonly pageSize: number;

  constructor(opts: S3StoreOptions) {
    if (!opts.bucket) throw new TypeError("S3Store: bucket is required");
    this.bucket = opts.bucket;
    this.prefix = !opts.prefix || opts.prefix.endsWith("/") ? (opts.prefix ?? "") : `${opts.prefix}/`;
    this.pageSize = Math.min(Math.max(1, opts.pageSize ?? 1000), 1000);
    this.client = opts.client ?? new S3Client(clientConfig(opts));
  }

  async put(key: string, data: Buffer, meta?: { contentType?: string }): Promise<StoredObject> {
    keySegments(key);
    const sha256 = createHash("sha256").update(data).digest("hex");
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.prefix + key,
        Body: data,
        ContentLength: data.length,
        ContentMD5: createHash("md5").update(data).digest("base64"),
        ContentType: meta?.contentType ?? "application/octet-stream",
        Metadata: { [SHA256_METADATA]: sha256 },
      }),
    );
    return { key, size: data.length, sha256 };
  }

  /**
   * A GET URL valid for `expiresSeconds`, signed with this store's credentials, for
   * `S3_RESULT_DELIVERY=redirect`: the client then downloads from S3 itself. The object's checksum
   * is not verified on that path (the bytes never pass through the gateway); S3 verified them at
   * upload (Content-MD5).
   */
  async presignGet(
    key: string,
    opts: { expiresSeconds: number; contentType?: string; filename?: string },
  ): Promise<string> {
    keySegments(key);
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.prefix + key,
      ...(opts.contentType ? { ResponseContentType: opts.contentType } : {}),
      ...(opts.filename ? { ResponseContentDisposition: `inline; filename="${opts.filename}"` } : {}),
    });
    return getSignedUrl(this.client, command, { expiresIn: opts.expiresSeconds });
  }

  async get(key: string): Promise<Buffer> {
    const { stream } = await this.stream(key);
    const chunks: Buffer[] = [];
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  async stream(key: string): Promise<{ stream: NodeJS.ReadableStream; size: number }> {
    keySegments(key);
    const out = await this.client
      .send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }))
      .catch((err: unknown) => {
        throw isNoSuchKey(err) ? new ObjectNotFoundError(key, { cause: err }) : err;
      });
    const body = out.Body as Readable | undefined;
    const size = out.ContentLength;
    if (!body || size === undefined)
      throw new ObjectIntegrityError(key, "no body or no length in the answer");
    const verified = verifying(key, size, out.Metadata?.[SHA256_METADATA]);
    // pipeline: an error on the connection (a cut-off body) ends the verified stream with it.
    pipeline(body, verified, () => {});
    return { stream: verified, size };
  }

  async exists(key: string): Promise<boolean> {
    keySegments(key);
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      return true;
    } catch (err) {
      // HEAD answers carry no body, so a missing key is only a 404 named "NotFound".
      if (isNoSuchKey(err) || statusOf(err) === 404) return false;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    keySegments(key);
    // S3 answers 204 for a missing key too: idempotent as the interface asks.
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
  }

  async deletePrefix(prefix: string): Promise<number> {
    prefixSegments(prefix);
    let count = 0;
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix + prefix,
          MaxKeys: this.pageSize,
          ContinuationToken: token,
        }),
      );
      const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
      if (keys.length > 0) {
        const result = await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys, Quiet: true } }),
        );
        const failed = result.Errors ?? [];
        if (failed.length > 0) {
          const first = failed[0];
          throw new Error(
            `S3 refused to delete ${failed.length} of ${keys.length} objects under "${prefix}" (first: ${first?.Key}: ${first?.Code} ${first?.Message})`,
          );
        }
        count += keys.length;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return count;
  }
}

function clientConfig(opts: S3StoreOptions): S3ClientConfig {
  const region = opts.region ?? (opts.endpoint ? "us-east-1" : undefined);
  return {
    ...(region ? { region } : {}),
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
    forcePathStyle: opts.forcePathStyle ?? false,
    // Checksums are ours (Content-MD5 on put, SHA-256 on read). The SDK's default CRC32 headers and
    // aws-chunked trailers are not understood by every S3-compatible server, so only operations
    // that require one (DeleteObjects) get the SDK's.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  };
}

/**
 * Passes the bytes through, and fails at the end unless there were `size` of them with the expected
 * SHA-256. The last chunk is held back until that check passed, so a reader (an HTTP response with
 * Content-Length: size) never receives all `size` bytes of an object that failed it.
 */
function verifying(key: string, size: number, sha256: string | undefined): Transform {
  const hash = createHash("sha256");
  let seen = 0;
  let held: Buffer | null = null;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > size) return done(new ObjectIntegrityError(key, `more than the ${size} bytes announced`));
      hash.update(chunk);
      const previous = held;
      held = chunk;
      done(null, previous ?? undefined);
    },
    flush(done) {
      if (seen !== size) return done(new ObjectIntegrityError(key, `${seen} of ${size} bytes`));
      // Objects written by something other than put have no recorded hash: the length is all there is.
      if (sha256 !== undefined && hash.digest("hex") !== sha256)
        return done(new ObjectIntegrityError(key, "SHA-256 differs from the one recorded at put"));
      done(null, held ?? undefined);
    },
  });
}

function isNoSuchKey(err: unknown): boolean {
  return (err as { name?: unknown } | null)?.name === "NoSuchKey";
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}
