import { FilesystemStore } from "./filesystem-store";
import type { ObjectStore } from "./object-store";
import { S3Store, type S3StoreOptions } from "./s3-store";

/** One variant per backend. */
export type StoreConfig = { kind: "fs"; root: string } | ({ kind: "s3" } & Omit<S3StoreOptions, "client">);

export function createStore(cfg: StoreConfig): ObjectStore {
  switch (cfg.kind) {
    case "fs":
      return new FilesystemStore({ root: cfg.root });
    case "s3":
      return new S3Store(cfg);
    default: {
      const unknown: never = cfg;
      throw new TypeError(`unknown store kind ${JSON.stringify((unknown as { kind: unknown }).kind)}`);
    }
  }
}

/** The settings storeConfigOf reads (a slice of @zimage/core's Config, so this package needs no core). */
export interface StorageSettings {
  STORAGE: "filesystem" | "s3";
  DATA_DIR: string;
  S3_BUCKET?: string | undefined;
  S3_PREFIX?: string | undefined;
  S3_ENDPOINT?: string | undefined;
  S3_FORCE_PATH_STYLE: boolean;
  AWS_REGION?: string | undefined;
  AWS_ACCESS_KEY_ID?: string | undefined;
  AWS_SECRET_ACCESS_KEY?: string | undefined;
  AWS_SESSION_TOKEN?: string | undefined;
}

/** The store the api and the worker use, from their configuration (STORAGE and the S3_ variables). */
export function storeConfigOf(c: StorageSettings): StoreConfig {
  if (c.STORAGE === "filesystem") return { kind: "fs", root: c.DATA_DIR };
  if (!c.S3_BUCKET) throw new TypeError("STORAGE=s3 needs S3_BUCKET");
  return {
    kind: "s3",
    bucket: c.S3_BUCKET,
    ...(c.S3_PREFIX ? { prefix: c.S3_PREFIX } : {}),
    ...(c.S3_ENDPOINT ? { endpoint: c.S3_ENDPOINT } : {}),
    forcePathStyle: c.S3_FORCE_PATH_STYLE,
    ...(c.AWS_REGION ? { region: c.AWS_REGION } : {}),
    // Both or neither (loadConfig checks); neither leaves credentials to the SDK's default chain.
    ...(c.AWS_ACCESS_KEY_ID && c.AWS_SECRET_ACCESS_KEY
      ? {
          credentials: {
            accessKeyId: c.AWS_ACCESS_KEY_ID,
            secretAccessKey: c.AWS_SECRET_ACCESS_KEY,
            ...(c.AWS_SESSION_TOKEN ? { sessionToken: c.AWS_SESSION_TOKEN } : {}),
          },
        }
      : {}),
  };
}
