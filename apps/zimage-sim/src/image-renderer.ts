import { createHash } from "node:crypto";
import { PNG } from "pngjs";

export interface RenderParams {
  prompt: string;
  negativePrompt?: string | undefined;
  width: number;
  height: number;
  steps: number;
  guidance: number;
  seed?: number | undefined;
  index: number;
  /** For edits: the sha256 of the input image, so different inputs give different outputs. */
  inputSha256?: string | undefined;
}

/**
 * A real PNG of the requested size whose pixels are a pure function of the parameters, so tests can
 * compute the exact bytes they expect. The pattern (gradients plus bands, colours from a sha256 of
 * the parameters) deflates well, keeping a 1024x1024 image cheap to encode.
 */
export function renderImage(p: RenderParams): Buffer {
  const key = JSON.stringify([
    p.prompt,
    p.negativePrompt ?? "",
    p.width,
    p.height,
    p.steps,
    p.guidance,
    p.seed ?? null,
    p.index,
    p.inputSha256 ?? null,
  ]);
  const h = createHash("sha256").update(key).digest();
  const png = new PNG({ width: p.width, height: p.height, colorType: 2, inputHasAlpha: false });
  // pngjs wants RGBA input by default; we give RGB with inputHasAlpha=false.
  const data = Buffer.alloc(p.width * p.height * 3);
  const band = 8 + (h[6]! % 56);
  for (let y = 0; y < p.height; y++) {
    const gy = Math.floor((y * 255) / Math.max(1, p.height - 1));
    const stripe = Math.floor(y / band) % 2 === 0 ? 0 : h[7]! >> 2;
    for (let x = 0; x < p.width; x++) {
      const gx = Math.floor((x * 255) / Math.max(1, p.width - 1));
      const i = (y * p.width + x) * 3;
      data[i] = (h[0]! + gx + stripe) & 255;
      data[i + 1] = (h[1]! + gy) & 255;
      data[i + 2] = (h[2]! + ((gx + gy) >> 1)) & 255;
    }
  }
  png.data = data;
  return PNG.sync.write(png, { colorType: 2, inputHasAlpha: false, deflateLevel: 1 });
}
