/** A key that could escape the store's root or is not portable to S3-style stores. A bug, never retried. */
export class InvalidKeyError extends Error {
  readonly key: string;

  constructor(key: string, reason: string) {
    super(`invalid object key ${JSON.stringify(key)}: ${reason}`);
    this.name = "InvalidKeyError";
    this.key = key;
  }
}
