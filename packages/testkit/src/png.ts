import { PNG } from "pngjs";

/** A real PNG of the given size (a simple gradient), for upload tests. */
export function makePng(width: number, height: number, seed = 0): Buffer {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      png.data[i] = (x + seed) & 255;
      png.data[i + 1] = (y + seed * 3) & 255;
      png.data[i + 2] = (x ^ y) & 255;
      png.data[i + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}

/** Width and height from a PNG's IHDR, after a full decode so a broken file throws. */
export function pngSize(bytes: Buffer): { width: number; height: number } {
  const png = PNG.sync.read(bytes);
  return { width: png.width, height: png.height };
}
