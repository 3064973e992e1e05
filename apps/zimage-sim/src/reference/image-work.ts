import { setTimeout as sleep } from "node:timers/promises";
import type { SimulatedGpu } from "../gpu";
import { renderImage } from "../image-renderer";
import { decodeInputImage } from "../input-image";
import type { OutputFiles } from "./outputs";
import type { Pipelines } from "./pipelines";
import type { ImageItem } from "./tasks";

export interface TextToImageJob {
  kind: "t2i";
  prompt: string;
  negativePrompt: string;
  /** The raw `size` string: the server parses it leniently and rounds it down to multiples of 32. */
  size: string;
  n: number;
  steps: number;
  guidance: number;
  /** Anything but "b64_json" means a URL. */
  responseFormat: string;
}

export interface EditJob {
  kind: "edit";
  prompt: string;
  image: Buffer;
}

export interface WorkTimings {
  baseMs: number;
  msPerStepMegapixel: number;
}

// A size that does not parse is 1024x1024; each side is rounded down to a multiple of 32, at least 32.
export function roundedSize(size: string): { width: number; height: number } {
  const parts = size.toLowerCase().split("x");
  const ints = parts.slice(0, 2).map((p) => (/^\s*[-+]?\d+\s*$/.test(p) ? Number(p) : Number.NaN));
  if (ints.length < 2 || ints.some(Number.isNaN)) return { width: 1024, height: 1024 };
  const round = (v: number) => Math.max(32, Math.floor(v / 32) * 32);
  return { width: round(ints[0]!), height: round(ints[1]!) };
}

// Beyond this the simulator would spend seconds encoding one PNG; a real GPU would run out of memory.
const MAX_SIDE = 4096;
const MAX_N = 16;

const outOfMemory = (bytes: number) =>
  new Error(
    `CUDA out of memory. Tried to allocate ${(bytes / 2 ** 30).toFixed(2)} GiB (simulated). GPU 0 has a total capacity of 31.36 GiB`,
  );

/**
 * One image job on the reference server, run by a caller that holds the GPU lock: load the right
 * pipeline (evicting the other), infer, store or encode the images. Failures throw an Error whose
 * message is what the server would report (`detail` of a 500, `error` of a failed task).
 */
export class ImageWork {
  constructor(
    private readonly gpu: SimulatedGpu,
    private readonly pipelines: Pipelines,
    private readonly outputs: OutputFiles,
    private readonly timings: WorkTimings,
  ) {}

  async process(job: TextToImageJob | EditJob): Promise<ImageItem[]> {
    await this.pipelines.ensure(job.kind);
    return job.kind === "t2i" ? this.textToImage(job) : this.edit(job);
  }

  private async textToImage(job: TextToImageJob): Promise<ImageItem[]> {
    const { width, height } = roundedSize(job.size);
    if (job.n < 1)
      throw new Error(`num_images_per_prompt must be a positive integer, got ${job.n} (simulated)`);
    this.checkMemory(width, height, job.n);
    await this.infer(width * height, job.steps, job.n);
    const items: ImageItem[] = [];
    for (let index = 0; index < job.n; index++) {
      const png = renderImage({ ...job, width, height, index });
      const b64 = job.responseFormat === "b64_json";
      items.push(b64 ? { b64_json: png.toString("base64") } : { url: this.outputs.save(png) });
    }
    return items;
  }

  // Steps (50) and guidance (4.0) are fixed by the server, the output has the input's size, and the
  // image is decoded only after the edit model is loaded, so a bad upload still costs a load.
  private async edit(job: EditJob): Promise<ImageItem[]> {
    const input = decodeInputImage(job.image);
    this.checkMemory(input.width, input.height, 1);
    await this.infer(input.width * input.height, 50, 1);
    const png = renderImage({
      prompt: job.prompt,
      width: input.width,
      height: input.height,
      steps: 50,
      guidance: 4,
      index: 0,
      inputSha256: input.sha256,
    });
    return [{ url: this.outputs.save(png) }];
  }

  private checkMemory(width: number, height: number, n: number): void {
    const pixels = width * height;
    const limit = this.gpu.faults.oomAbovePixels;
    if ((limit !== null && pixels > limit) || width > MAX_SIDE || height > MAX_SIDE || n > MAX_N)
      throw outOfMemory(pixels * n * 64);
  }

  private async infer(pixels: number, steps: number, n: number): Promise<void> {
    await sleep(this.timings.baseMs + (this.timings.msPerStepMegapixel * steps * pixels * n) / 1_000_000);
  }
}
