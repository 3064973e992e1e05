import { GatewayError } from "@zimage/core";
import { describe, expect, it } from "vitest";
import { nativeParams } from "./openai-request";

describe("nativeParams", () => {
  it("refuses the native scheduling fields by name (issue #19)", () => {
    for (const param of ["priority", "cancel_after"]) {
      let caught: unknown;
      try {
        nativeParams({ prompt: "x", [param]: param === "priority" ? "batch" : 60 }, "generate");
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(GatewayError);
      expect(caught).toMatchObject({ code: "invalid_request", details: { param } });
      expect((caught as Error).message).toMatch(/native API/);
    }
  });
});
