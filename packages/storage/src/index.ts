export { createStore, type StoreConfig } from "./create-store";
export { InvalidKeyError, ObjectNotFoundError } from "./errors";
export { FilesystemStore, type FilesystemStoreOptions } from "./filesystem-store";
export { deleteJobFiles } from "./job-files";
export type { ObjectStore, StoredObject } from "./object-store";
