import { describe, expect, it } from "vitest";
import { modelIds, modelInfos } from "./model-ids";

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

describe("modelInfos", () => {
  it("keeps capabilities listed as strings (the reference server's /v1/models)", () => {
    const body = {
      object: "list",
      data: [
        { id: "Tongyi-MAI/Z-Image", object: "model", capabilities: ["text-to-image"] },
        { id: "Tongyi-MAI/Z-Image-Edit", object: "model", capabilities: ["image-to-image"] },
      ],
    };
    expect(modelInfos(body)).toEqual([
      { id: "Tongyi-MAI/Z-Image", capabilities: ["text-to-image"] },
      { id: "Tongyi-MAI/Z-Image-Edit", capabilities: ["image-to-image"] },
    ]);
  });

  it.each([[{ generations: true, edits: true }], [["text-to-image", 3]], ["text-to-image"], [undefined]])(
    "reads capabilities %j as not listed",
    (capabilities) => {
      expect(modelInfos({ data: [{ id: "m", capabilities }] })).toEqual([{ id: "m", capabilities: null }]);
    },
  );

  it("a bare id has no capabilities", () => {
    expect(modelInfos(["m"])).toEqual([{ id: "m", capabilities: null }]);
  });
});
