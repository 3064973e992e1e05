import { FilesystemStore } from "./filesystem-store";
import type { ObjectStore } from "./object-store";

/** One variant per backend; an S3 variant joins this union later. */
export type StoreConfig = { kind: "fs"; root: string };

export function createStore(cfg: StoreConfig): ObjectStore {
  switch (cfg.kind) {
    case "fs":
      return new FilesystemStore({ root: cfg.root });
    default: {
      const unknown: never = cfg.kind;
      throw new TypeError(`unknown store kind ${JSON.stringify(unknown)}`);
    }
  }
}
