import { describe, expect, it } from "vitest";
import { InvalidKeyError } from "./errors";
import { keySegments, prefixSegments } from "./object-key";

describe("object keys", () => {
  it("accepts the gateway's key layouts", () => {
    expect(keySegments("results/01JABC/0.png")).toEqual(["results", "01JABC", "0.png"]);
    expect(keySegments("inputs/job_1-x/input.jpeg")).toEqual(["inputs", "job_1-x", "input.jpeg"]);
    // Dots inside a name are fine; only "." and ".." as whole segments are special.
    expect(keySegments("a/..b/c..")).toEqual(["a", "..b", "c.."]);
  });

  it.each([
    ["", "empty"],
    ["../x", "parent segment"],
    ["a/../../b", "parent segment in the middle"],
    ["/etc/passwd", "absolute"],
    ["a\\b", "backslash"],
    ["..\\..\\x", "windows-style traversal"],
    ["a//b", "empty segment"],
    ["a/b/", "trailing slash"],
    ["./a", "dot segment"],
    ["a/./b", "dot segment in the middle"],
    ["..", "just dot-dot"],
    ["a/b\0c", "NUL byte"],
    ["a b", "space"],
    ["résumé.png", "non-ASCII"],
    ["a/%2e%2e/b", "percent-encoding is not decoded, and % is refused"],
    ["C:/x", "drive letter"],
    ["a/.tmp-123", "reserved temp name"],
    ["x".repeat(256), "segment too long"],
  ])("refuses %j (%s)", (key) => {
    expect(() => keySegments(key)).toThrow(InvalidKeyError);
  });

  it("prefixes may end in a slash or a partial name, but may not be empty or escape", () => {
    expect(prefixSegments("results/job1/")).toEqual({ dirs: ["results", "job1"], partial: "" });
    expect(prefixSegments("results/job")).toEqual({ dirs: ["results"], partial: "job" });
    for (const bad of ["", "/", "../", "a/../", "a//", "/etc/", "a\\"]) {
      expect(() => prefixSegments(bad), bad).toThrow(InvalidKeyError);
    }
  });
});
