import { GatewayError } from "./errors";
import { SIZE_LIMITS } from "./job-request";

/**
 * The size an edit sent without `size` renders at: the input's, brought within the bounds `size` has
 * (SIZE_LIMITS: each side 128-2048, divisible by 32) keeping the aspect ratio. A larger input is
 * scaled down until its long side fits, a smaller one up until its short side does, and each side is
 * then rounded down to a multiple of 32 (so 4096x4096 → 2048x2048, 1000x1000 → 992x992,
 * 4032x3024 → 2048x1536, 96x64 → 192x128). Fitting rather than refusing: almost no photo has sides
 * divisible by 32, and the client can always send `size` to choose. Only the size asked of the
 * upstream changes; the input image is passed on as it came.
 *
 * An input more elongated than 2048:128 (16:1) has no such size and is refused, naming `size`.
 */
export function fitEditSize(width: number, height: number): string {
  const { min, max, multiple } = SIZE_LIMITS;
  const long = Math.max(width, height);
  const short = Math.min(width, height);
  let scale = Math.min(1, max / long);
  if (short * scale < min) scale = min / short;
  // A hair of tolerance: 16:1 exactly must fit despite floating point.
  if (long * scale > max + 1e-6) {
    throw new GatewayError("invalid_request", "the request body is invalid", [
      {
        path: "size",
        message: `the input image is ${width}x${height}: no size within ${min}-${max} pixels a side keeps its aspect ratio; send size (each side ${min}-${max}, divisible by ${multiple}) or a less elongated image`,
      },
    ]);
  }
  const side = (v: number) =>
    Math.min(max, Math.max(min, Math.floor((v * scale + 1e-6) / multiple) * multiple));
  return `${side(width)}x${side(height)}`;
}
