import { describe, expect, it } from "vitest";
import { errorsFrom, fieldSentence, plainMessage } from "./field-errors";

describe("form error sentences", () => {
  it("name the field by its label and say the rule in plain words", () => {
    expect(
      errorsFrom([
        { path: "num_inference_steps", message: "must be at most 100" },
        { path: "prompt", message: "must not be empty" },
        { path: "size", message: "both sides must be divisible by 32" },
        { path: "n", message: "must be a whole number" },
      ]),
    ).toEqual({
      num_inference_steps: "Steps must be at most 100",
      prompt: "Prompt must not be empty",
      size: "Size: both sides must be divisible by 32",
      n: "Number of images must be a whole number",
    });
  });

  it("rephrase zod's default wording when a message arrives with it", () => {
    expect(fieldSentence("num_inference_steps", "Too big: expected number to be <=100")).toBe(
      "Steps must be at most 100",
    );
    expect(fieldSentence("guidance_scale", "Too small: expected number to be >=0")).toBe(
      "Guidance must be at least 0",
    );
    expect(plainMessage("Too big: expected string to have <=4000 characters")).toBe(
      "must be at most 4000 characters",
    );
    expect(plainMessage("Too small: expected number to be >0")).toBe("must be more than 0");
    expect(plainMessage("Invalid input: expected int, received number")).toBe("must be a whole number");
  });

  it("put what belongs to no field above the button, once", () => {
    expect(
      errorsFrom([
        { path: "(body)", message: 'Unrecognized key: "colour"' },
        { path: "webhook.url", message: "must be an https URL" },
      ]),
    ).toEqual({ form: 'Unrecognized key: "colour"' });
  });
});
