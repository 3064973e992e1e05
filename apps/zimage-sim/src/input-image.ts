import { createHash } from "node:crypto";
import jpeg from "jpeg-js";
import { PNG } from "pngjs";

export interface InputImage {
  width: number;
  height: number;
  sha256: string;
}

/** Decodes an uploaded PNG or JPEG as the real server's image library would; anything else throws. */
export function decodeInputImage(bytes: Buffer): InputImage {
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  if (bytes.length > 8 && bytes.readUInt32BE(0) === 0x89504e47) {
    const png = PNG.sync.read(bytes);
    return { width: png.width, height: png.height, sha256 };
  }
  if (bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    const img = jpeg.decode(bytes, { maxResolutionInMP: 64, maxMemoryUsageInMB: 512, formatAsRGBA: false });
    return { width: img.width, height: img.height, sha256 };
  }
  throw new Error("cannot identify image file");
}
