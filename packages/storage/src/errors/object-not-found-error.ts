/** No object under this key. Callers map it to a 404 (`image_not_found`), not a server error. */
export class ObjectNotFoundError extends Error {
  readonly key: string;

  constructor(key: string, options?: { cause?: unknown }) {
    super(`no object stored under "${key}"`, options);
    this.name = "ObjectNotFoundError";
    this.key = key;
  }
}
