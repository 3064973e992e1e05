import { describe, expect, it } from "vitest";
import { coerceFormFields, editRequestSchema, generateRequestSchema } from "./job-request";

describe("generateRequestSchema", () => {
  it("fills the upstream's defaults", () => {
    expect(generateRequestSchema.parse({ prompt: "a cat" })).toEqual({
      prompt: "a cat",
      size: "1024x1024",
      n: 1,
      num_inference_steps: 50,
      guidance_scale: 4,
      cfg_normalization: false,
      response_format: "url",
    });
  });

  it.each([
    ["0x0"],
    ["99999x99999"],
    ["1000x1000"],
    ["1024"],
    ["1024x1024x3"],
    ["-512x512"],
    ["64x64"],
    ["4096x1024"],
  ])("rejects size %s", (size) => {
    expect(generateRequestSchema.safeParse({ prompt: "x", size }).success).toBe(false);
  });

  it.each([["512x768"], ["128x2048"], ["1024x1024"]])("accepts size %s", (size) => {
    expect(generateRequestSchema.safeParse({ prompt: "x", size }).success).toBe(true);
  });

  it("rejects n outside 1..4, empty and NUL-bearing prompts, unknown fields", () => {
    expect(generateRequestSchema.safeParse({ prompt: "x", n: 5 }).success).toBe(false);
    expect(generateRequestSchema.safeParse({ prompt: "x", n: 0 }).success).toBe(false);
    expect(generateRequestSchema.safeParse({ prompt: "   " }).success).toBe(false);
    expect(generateRequestSchema.safeParse({ prompt: "a\u0000b" }).success).toBe(false);
    expect(generateRequestSchema.safeParse({ prompt: "x", colour: "red" }).success).toBe(false);
    expect(generateRequestSchema.safeParse({ prompt: 42 }).success).toBe(false);
  });

  it("keeps unicode prompts intact", () => {
    expect(generateRequestSchema.parse({ prompt: 'un chat "écrit" 猫 🐈' }).prompt).toBe(
      'un chat "écrit" 猫 🐈',
    );
  });
});

describe("editRequestSchema", () => {
  it("uses the edit defaults and leaves size to the input image", () => {
    const p = editRequestSchema.parse({ prompt: "make it blue" });
    expect(p.guidance_scale).toBe(1.5);
    expect(p.size).toBeUndefined();
  });

  it("validates multipart text fields after coercion", () => {
    const fields = coerceFormFields({
      prompt: "x",
      n: "2",
      guidance_scale: "2.5",
      cfg_normalization: "true",
    });
    expect(editRequestSchema.parse(fields)).toMatchObject({
      n: 2,
      guidance_scale: 2.5,
      cfg_normalization: true,
    });
    const bad = editRequestSchema.safeParse(coerceFormFields({ prompt: "x", n: "two" }));
    expect(bad.success).toBe(false);
  });
});
