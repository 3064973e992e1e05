/**
 * Where job inputs and results live (`inputs/<jobId>/input.png`, `results/<jobId>/0.png`).
 * Small enough that an S3 adapter can implement it one-to-one later.
 */
export interface ObjectStore {
  /** Stores atomically: readers see the old object or the whole new one, never part of it. */
  put(key: string, data: Buffer, meta?: { contentType?: string }): Promise<StoredObject>;
  /** Throws ObjectNotFoundError. */
  get(key: string): Promise<Buffer>;
  /** For serving files without buffering them; throws ObjectNotFoundError. */
  stream(key: string): Promise<{ stream: NodeJS.ReadableStream; size: number }>;
  exists(key: string): Promise<boolean>;
  /** Idempotent: deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Deletes every object whose key starts with `prefix` (a plain string prefix, as in S3: pass
   * `results/<jobId>/` with the slash, or `results/job1` also matches `results/job10/...`).
   * Returns how many objects were deleted.
   */
  deletePrefix(prefix: string): Promise<number>;
  /**
   * A short-lived URL the client can download the object from directly (S3's presigned GET); only
   * stores that can hand out such URLs have it.
   */
  presignGet?(
    key: string,
    opts: { expiresSeconds: number; contentType?: string; filename?: string },
  ): Promise<string>;
}

export interface StoredObject {
  key: string;
  size: number;
  /** Hex SHA-256 of the bytes, for integrity checks and ETags. */
  sha256: string;
}
