import { randomBytes } from "node:crypto";

const MAX_FILES = 200;

/**
 * The reference server's `generated_images/` folder, served at `/outputs/<file>`. Result URLs are
 * built from `publicHost`, the address the server announces for itself rather than the one the
 * client used, which may be unreachable from the gateway (shared/zimage-api.md).
 */
export class OutputFiles {
  private readonly files = new Map<string, Buffer>();

  constructor(private readonly publicHost: () => string) {}

  /** Stores a PNG and answers its public URL. */
  save(png: Buffer): string {
    const name = `gen_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString("hex")}.png`;
    this.files.set(name, png);
    // Bounded: the oldest files go first, as a cleaned output folder would.
    if (this.files.size > MAX_FILES) this.files.delete(this.files.keys().next().value!);
    return `${this.publicHost()}/outputs/${name}`;
  }

  get(name: string): Buffer | undefined {
    return this.files.get(name);
  }
}
