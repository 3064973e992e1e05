import { createHash, randomBytes } from "node:crypto";
import type { Dirent } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { InvalidKeyError, ObjectNotFoundError } from "./errors";
import { keySegments, prefixSegments, TEMP_FILE_PREFIX } from "./object-key";
import type { ObjectStore, StoredObject } from "./object-store";

export interface FilesystemStoreOptions {
  /** Directory holding the objects; created on the first write. */
  root: string;
}

/** Errors meaning "nothing there": a missing file, or a path through a file or onto a directory. */
const NOT_THERE = new Set(["ENOENT", "ENOTDIR", "EISDIR"]);

/**
 * Objects as files under `root`, one file per key (`results/<jobId>/0.png` → `<root>/results/<jobId>/0.png`).
 * The content type is not stored: the key's extension carries it.
 */
export class FilesystemStore implements ObjectStore {
  readonly root: string;

  constructor(opts: FilesystemStoreOptions) {
    if (!opts.root) throw new TypeError("FilesystemStore: root is required");
    this.root = path.resolve(opts.root);
  }

  async put(key: string, data: Buffer, _meta?: { contentType?: string }): Promise<StoredObject> {
    const file = this.pathOf(key);
    const dir = path.dirname(file);
    // Same directory as the target, so the rename is atomic (same filesystem): a reader sees the
    // old file or the complete new one, and a crash leaves at most a temp file, never a partial object.
    const temp = path.join(dir, `${TEMP_FILE_PREFIX}${randomBytes(8).toString("hex")}`);
    try {
      await mkdir(dir, { recursive: true });
      const handle = await open(temp, "wx", 0o644);
      try {
        await handle.writeFile(data);
        // Flush before the rename, or a power loss could leave the final name pointing at empty blocks.
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, file);
    } catch (err) {
      // Best-effort cleanup: the write's own error below is what the caller must see. A temp file
      // that stays is invisible to get/list (TEMP_FILE_PREFIX) and costs only its bytes.
      await rm(temp, { force: true }).catch(() => {});
      const code = errorCode(err);
      if (code === "ENOTDIR" || code === "EISDIR" || code === "EEXIST" || code === "ENOTEMPTY") {
        throw new InvalidKeyError(key, "conflicts with an existing object or prefix");
      }
      throw err;
    }
    await syncDirectory(dir);
    return { key, size: data.length, sha256: createHash("sha256").update(data).digest("hex") };
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await readFile(this.pathOf(key));
    } catch (err) {
      throw notFoundOr(key, err);
    }
  }

  async stream(key: string): Promise<{ stream: NodeJS.ReadableStream; size: number }> {
    const file = this.pathOf(key);
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(file, "r");
    } catch (err) {
      throw notFoundOr(key, err);
    }
    // Size and bytes come from the same open file, so a concurrent put (a rename) cannot make
    // them disagree: this handle keeps reading the file it opened.
    const info = await handle.stat().catch(async (err: unknown) => {
      await handle.close();
      throw err;
    });
    if (!info.isFile()) {
      await handle.close();
      throw new ObjectNotFoundError(key);
    }
    return { stream: handle.createReadStream({ autoClose: true }), size: info.size };
  }

  async exists(key: string): Promise<boolean> {
    const file = this.pathOf(key);
    try {
      return (await stat(file)).isFile();
    } catch (err) {
      if (NOT_THERE.has(errorCode(err) ?? "")) return false;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.pathOf(key));
    } catch (err) {
      // EISDIR/EPERM: the key names a prefix (directory), which holds no object of its own.
      const code = errorCode(err) ?? "";
      if (!NOT_THERE.has(code) && code !== "EPERM") throw err;
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    const { dirs, partial } = prefixSegments(prefix);
    const dir = path.resolve(this.root, ...dirs);
    this.assertInside(prefix, dir, true);
    if (partial === "") {
      // "results/<jobId>/": the whole directory goes, including itself.
      const count = await countObjects(dir);
      await rm(dir, { recursive: true, force: true });
      return count;
    }
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (NOT_THERE.has(errorCode(err) ?? "")) return 0;
      throw err;
    }
    let count = 0;
    for (const entry of entries) {
      if (!entry.name.startsWith(partial)) continue;
      const full = path.join(dir, entry.name);
      count += entry.isDirectory() ? await countObjects(full) : isObjectName(entry.name) ? 1 : 0;
      // rm never follows symlinks, so a link planted under root cannot widen the deletion.
      await rm(full, { recursive: true, force: true });
    }
    return count;
  }

  /** The absolute file for a key, after checking the key and that the result stays under root. */
  private pathOf(key: string): string {
    const file = path.resolve(this.root, ...keySegments(key));
    this.assertInside(key, file, false);
    return file;
  }

  // Belt and braces: key validation already makes escaping impossible; this catches any future
  // change to that validation before it reaches the filesystem.
  private assertInside(key: string, target: string, allowRoot: boolean): void {
    const rel = path.relative(this.root, target);
    const escapes = rel === ".." || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel);
    if (escapes || (rel === "" && !allowRoot))
      throw new InvalidKeyError(key, "resolves outside the store root");
  }
}

async function countObjects(dir: string): Promise<number> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (NOT_THERE.has(errorCode(err) ?? "")) return 0;
    throw err;
  }
  let count = 0;
  for (const entry of entries) {
    if (entry.isDirectory()) count += await countObjects(path.join(dir, entry.name));
    else if (isObjectName(entry.name)) count += 1;
  }
  return count;
}

function isObjectName(name: string): boolean {
  return !name.startsWith(TEMP_FILE_PREFIX);
}

/** Makes the rename itself durable. Best effort: not every platform can fsync a directory. */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // The object is complete either way; only crash durability of its name is at stake.
  }
}

function notFoundOr(key: string, err: unknown): unknown {
  return NOT_THERE.has(errorCode(err) ?? "") ? new ObjectNotFoundError(key, { cause: err }) : err;
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}
