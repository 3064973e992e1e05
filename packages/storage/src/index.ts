export { createStore, type StorageSettings, type StoreConfig, storeConfigOf } from "./create-store";
export { InvalidKeyError, ObjectIntegrityError, ObjectNotFoundError } from "./errors";
export { FilesystemStore, type FilesystemStoreOptions } from "./filesystem-store";
export { deleteJobFiles } from "./job-files";
export type { ObjectStore, StoredObject } from "./object-store";
export { S3Store, type S3StoreOptions } from "./s3-store";
