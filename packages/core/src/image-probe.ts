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
  let orientation = 1;
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
      const stored = { height: bytes.readUInt16BE(offset + 5), width: bytes.readUInt16BE(offset + 7) };
      // Orientations 5-8 turn the picture a quarter: a phone's portrait photo is stored landscape.
      // Its size as displayed is what an edit is fitted to (upstreams apply the tag when decoding).
      const turned = orientation >= 5 && orientation <= 8;
      return {
        type: "image/jpeg",
        width: turned ? stored.height : stored.width,
        height: turned ? stored.width : stored.height,
      };
    }
    if (marker === 0xe1) orientation = exifOrientation(bytes, offset + 4, offset + 2 + length) ?? orientation;
    if (marker === 0xda) break; // start of scan before any frame header
    offset += 2 + length;
  }
  throw invalid("the JPEG has no frame header");
}

/**
 * The EXIF Orientation tag (0x0112) of an APP1 segment spanning [start, end), or null. Hand-written:
 * one tag of IFD0 is all the gateway needs, and a full EXIF library would parse far more of an
 * untrusted upload than that. Every offset is bounds-checked; anything malformed reads as no tag.
 */
function exifOrientation(bytes: Buffer, start: number, end: number): number | null {
  if (end > bytes.length || end - start < 14 || bytes.toString("latin1", start, start + 6) !== "Exif\0\0")
    return null;
  const tiff = start + 6;
  const order = bytes.toString("latin1", tiff, tiff + 2);
  if (order !== "II" && order !== "MM") return null;
  const le = order === "II";
  const u16 = (at: number) => (le ? bytes.readUInt16LE(at) : bytes.readUInt16BE(at));
  const u32 = (at: number) => (le ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at));
  const ifd = tiff + u32(tiff + 4);
  if (ifd + 2 > end) return null;
  const entries = u16(ifd);
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > end) return null;
    if (u16(entry) === 0x0112) {
      const value = u16(entry + 8);
      return value >= 1 && value <= 8 ? value : null;
    }
  }
  return null;
}
