/**
 * The bytes read back are not the bytes written (short, or a different SHA-256): the object is never
 * served as if it were whole. Not retried by the store; the caller maps it like any storage failure.
 */
export class ObjectIntegrityError extends Error {
  readonly key: string;

  constructor(key: string, reason: string) {
    super(`object "${key}" failed its integrity check: ${reason}`);
    this.name = "ObjectIntegrityError";
    this.key = key;
  }
}
