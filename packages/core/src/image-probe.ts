import { crc32 } from "node:zlib";
import { GatewayError } from "./errors";

export interface ImageInfo {
  type: "image/png" | "image/jpeg";
  width: number;
  height: number;
}

/** Inputs larger than this are refused before anything decodes them (decompression bombs). */
export const INPUT_LIMITS = { maxSide: 4096, maxPixels: 16 * 1024 * 1024 } as const;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const invalid = (message: string) => new GatewayError("invalid_image", message);

/**
 * Identifies a PNG or JPEG by its magic bytes and checks its structure without decoding pixels:
 * every PNG chunk must be whole with a correct CRC up to IEND; a JPEG must have a frame header and
 * end with EOI. That rejects garbage, renamed text files and truncated uploads cheaply, and reads
 * the dimensions so oversized images are refused before the upstream's decoder sees them.
 */
export function probeImage(bytes: Buffer): ImageInfo {
  let info: ImageInfo;
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(PNG_SIGNATURE)) info = probePng(bytes);
  else if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff)
    info = probeJpeg(bytes);
  else throw invalid("the file is not a PNG or JPEG image");
  if (info.width < 1 || info.height < 1) throw invalid("the image has no pixels");
  if (
    info.width > INPUT_LIMITS.maxSide ||
    info.height > INPUT_LIMITS.maxSide ||
    info.width * info.height > INPUT_LIMITS.maxPixels
  ) {
    throw invalid(
      `the image is ${info.width}x${info.height}; inputs may be at most ${INPUT_LIMITS.maxSide} pixels a side`,
    );
  }
  return info;
}

function probePng(bytes: Buffer): ImageInfo {
  let offset = 8;
  let width = 0;
  let height = 0;
  let first = true;
  while (offset + 12 <= bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString("latin1", offset + 4, offset + 8);
    const end = offset + 12 + length;
    if (end > bytes.length) throw invalid("the PNG is truncated");
    const crc = bytes.readUInt32BE(offset + 8 + length);
    if (crc32(bytes.subarray(offset + 4, offset + 8 + length)) !== crc)
      throw invalid(`the PNG's ${type} chunk is corrupt`);
    if (first) {
      if (type !== "IHDR" || length !== 13) throw invalid("the PNG has no IHDR header");
      width = bytes.readUInt32BE(offset + 8);
      height = bytes.readUInt32BE(offset + 12);
      first = false;
    }
    if (type === "IEND") return { type: "image/png", width, height };
    offset = end;
  }
  throw invalid("the PNG is truncated");
}

function probeJpeg(bytes: Buffer): ImageInfo {
  if (!(bytes[bytes.length - 2] === 0xff && bytes[bytes.length - 1] === 0xd9))
    throw invalid("the JPEG is truncated");
  let offset = 2;
  while (offset + 4 <= bytes.length) {
    if (bytes[offset] !== 0xff) throw invalid("the JPEG is malformed");
    const marker = bytes[offset + 1]!;
    if (marker === 0xff) {
      offset += 1; // fill byte
      continue;
    }
    const length = bytes.readUInt16BE(offset + 2);
    // SOF0..SOF15 carry the frame size, except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (offset + 9 > bytes.length) throw invalid("the JPEG is truncated");
      return {
        type: "image/jpeg",
        height: bytes.readUInt16BE(offset + 5),
        width: bytes.readUInt16BE(offset + 7),
      };
    }
    if (marker === 0xda) break; // start of scan before any frame header
    offset += 2 + length;
  }
  throw invalid("the JPEG has no frame header");
}
