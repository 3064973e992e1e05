import { crc32 } from "node:zlib";
import { makePng } from "@zimage/testkit";
import { describe, expect, it } from "vitest";
import { probeImage } from "./image-probe";

// A minimal baseline JPEG header (SOI, SOF0 64x48) closed by EOI — enough structure for the probe.
function fakeJpeg(width: number, height: number): Buffer {
  const sof = Buffer.from([
    0xff,
    0xc0,
    0x00,
    0x11,
    0x08,
    height >> 8,
    height & 255,
    width >> 8,
    width & 255,
    0x03,
  ]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), sof, Buffer.alloc(9), Buffer.from([0xff, 0xd9])]);
}

/** An APP1 segment carrying only IFD0's Orientation tag, in either byte order. */
function exifApp1(orientation: number, order: "II" | "MM"): Buffer {
  const tiff = Buffer.alloc(8 + 2 + 12 + 4);
  const le = order === "II";
  tiff.write(order, 0, "latin1");
  le ? tiff.writeUInt16LE(42, 2) : tiff.writeUInt16BE(42, 2);
  le ? tiff.writeUInt32LE(8, 4) : tiff.writeUInt32BE(8, 4);
  le ? tiff.writeUInt16LE(1, 8) : tiff.writeUInt16BE(1, 8);
  le ? tiff.writeUInt16LE(0x0112, 10) : tiff.writeUInt16BE(0x0112, 10);
  le ? tiff.writeUInt16LE(3, 12) : tiff.writeUInt16BE(3, 12); // SHORT
  le ? tiff.writeUInt32LE(1, 14) : tiff.writeUInt32BE(1, 14);
  le ? tiff.writeUInt16LE(orientation, 18) : tiff.writeUInt16BE(orientation, 18);
  const body = Buffer.concat([Buffer.from("Exif\0\0", "latin1"), tiff]);
  const head = Buffer.from([0xff, 0xe1, 0, 0]);
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([head, body]);
}

const withExif = (jpeg: Buffer, app1: Buffer) => Buffer.concat([jpeg.subarray(0, 2), app1, jpeg.subarray(2)]);

describe("probeImage", () => {
  it("reports a JPEG's size as displayed: EXIF orientations 5-8 turn it a quarter", () => {
    const phone = fakeJpeg(4032, 3024);
    for (const order of ["II", "MM"] as const) {
      expect(probeImage(withExif(phone, exifApp1(6, order)))).toMatchObject({ width: 3024, height: 4032 });
      expect(probeImage(withExif(phone, exifApp1(3, order)))).toMatchObject({ width: 4032, height: 3024 });
    }
    // A malformed EXIF block reads as no tag, never as an error.
    const broken = exifApp1(6, "II");
    broken.writeUInt32LE(0xffffff, 4 + 6 + 4); // IFD0 offset far past the segment
    expect(probeImage(withExif(phone, broken))).toMatchObject({ width: 4032, height: 3024 });
  });

  it("reads a real PNG's type and size", () => {
    expect(probeImage(makePng(96, 64))).toEqual({ type: "image/png", width: 96, height: 64 });
  });

  it("reads a JPEG frame header", () => {
    expect(probeImage(fakeJpeg(640, 480))).toEqual({ type: "image/jpeg", width: 640, height: 480 });
  });

  it("rejects text, truncated and corrupted PNGs with invalid_image", () => {
    const png = makePng(64, 64);
    const cases = [
      Buffer.from("hello, I am not an image"),
      png.subarray(0, png.length - 20),
      Buffer.concat([png.subarray(0, 40), Buffer.from([png[40]! ^ 0xff]), png.subarray(41)]),
      Buffer.alloc(0),
      fakeJpeg(10, 10).subarray(0, 12),
    ];
    for (const bytes of cases)
      expect(() => probeImage(bytes)).toThrow(expect.objectContaining({ code: "invalid_image" }));
  });

  it("refuses a decompression bomb by its header before decoding", () => {
    const png = makePng(8, 8);
    // Rewrite IHDR to claim 50000x50000 (and fix its CRC) so only the size check can refuse it.
    const bomb = Buffer.from(png);
    bomb.writeUInt32BE(50_000, 16);
    bomb.writeUInt32BE(50_000, 20);
    bomb.writeUInt32BE(crc32(bomb.subarray(12, 29)), 29);
    expect(() => probeImage(bomb)).toThrow(/at most 4096/);
  });
});
