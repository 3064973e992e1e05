import { describe, expect, it } from "vitest";
import { modelIds } from "./model-ids";

describe("modelIds", () => {
  it.each([
    [{ object: "list", data: [{ id: "z-image-turbo" }, { id: "z-image" }] }, ["z-image-turbo", "z-image"]],
    [
      [{ id: "a" }, "b", { id: "a" }],
      ["a", "b"],
    ],
    [{ models: ["m1"] }, ["m1"]],
    [{ data: [{ name: "no id" }, null, 3, { id: "" }] }, []],
    [{ data: "nope" }, []],
    ["text", []],
    [null, []],
  ])("reads %j as %j", (body, ids) => {
    expect(modelIds(body)).toEqual(ids);
  });
});
