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

describe("probeImage", () => {
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
