import { describe, expect, it } from "vitest";
import { fitEditSize } from "./edit-size";
import { GatewayError } from "./errors";
import { generateRequestSchema } from "./job-request";

describe("fitEditSize", () => {
  it.each([
    [4096, 4096, "2048x2048"],
    [1000, 1000, "992x992"],
    [4032, 3024, "2048x1536"],
    [1920, 1080, "1920x1056"],
    [96, 64, "192x128"],
    [128, 128, "128x128"],
    [512, 768, "512x768"],
    [2048, 128, "2048x128"],
    [4096, 256, "2048x128"],
    [100, 1600, "128x2048"],
    [1, 1, "128x128"],
  ])("fits a %ix%i input to %s", (w, h, size) => {
    expect(fitEditSize(w, h)).toBe(size);
  });

  it("always answers a size the request schema accepts", () => {
    for (let w = 1; w <= 4096; w += 37) {
      for (let h = Math.ceil(w / 16); h <= Math.min(4096, w * 16); h += 53) {
        const size = fitEditSize(w, h);
        expect(generateRequestSchema.safeParse({ prompt: "x", size }).success, `${w}x${h} → ${size}`).toBe(
          true,
        );
      }
    }
  });

  it("refuses an input more elongated than 16:1, naming size", () => {
    const err = (() => {
      try {
        fitEditSize(4096, 200);
      } catch (e) {
        return e;
      }
    })() as GatewayError;
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.status).toBe(400);
    expect(err.details).toEqual([{ path: "size", message: expect.stringMatching(/4096x200.*send size/) }]);
  });
});
