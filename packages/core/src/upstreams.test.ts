import { describe, expect, it } from "vitest";
import { displayUrl, parseUpstreams, type UpstreamConfig } from "./upstreams";

const plain = { pin: { generate: "auto", edit: "auto" }, params: { defaults: {}, bounds: {} } };

describe("parseUpstreams", () => {
  const valid: Array<[string, string, UpstreamConfig[]]> = [
    [
      "a bare URL is named default",
      "http://127.0.0.1:8003/",
      [{ name: "default", url: "http://127.0.0.1:8003", ...plain } as UpstreamConfig],
    ],
    [
      "names and URLs, no options",
      "gpu0=http://10.0.0.5:8003, gpu1=https://gpu1.lan",
      [
        { name: "gpu0", url: "http://10.0.0.5:8003", ...plain } as UpstreamConfig,
        { name: "gpu1", url: "https://gpu1.lan", ...plain } as UpstreamConfig,
      ],
    ],
    [
      "a Turbo upstream with pinned async edits, defaults and bounds",
      "turbo=http://gpu0:8003;edit=async;steps=8;steps_range=8-9;guidance=0;guidance_range=0-0",
      [
        {
          name: "turbo",
          url: "http://gpu0:8003",
          pin: { generate: "auto", edit: "async" },
          params: {
            defaults: { num_inference_steps: 8, guidance_scale: 0 },
            bounds: { num_inference_steps: [8, 9], guidance_scale: [0, 0] },
          },
        },
      ],
    ],
    [
      "options on one upstream only, spaces and a trailing ; ignored",
      "a=http://a ; generate=none ; edit=sync ;, b=http://b;guidance=3.5;guidance_range=1.5-7",
      [
        {
          name: "a",
          url: "http://a",
          pin: { generate: "none", edit: "sync" },
          params: { defaults: {}, bounds: {} },
        },
        {
          name: "b",
          url: "http://b",
          pin: { generate: "auto", edit: "auto" },
          params: { defaults: { guidance_scale: 3.5 }, bounds: { guidance_scale: [1.5, 7] } },
        },
      ],
    ],
    [
      "a bare URL whose query holds = keeps its query",
      "http://gpu0:8003/z?token=abc;edit=none",
      [
        {
          name: "default",
          url: "http://gpu0:8003/z?token=abc",
          pin: { generate: "auto", edit: "none" },
          params: { defaults: {}, bounds: {} },
        },
      ],
    ],
  ];
  it.each(valid)("parses %s", (_what, spec, expected) => {
    expect(parseUpstreams(spec)).toEqual(expected);
  });

  const invalid: Array<[string, string, RegExp]> = [
    ["an empty list", " , ", /expected name=url/],
    ["an unknown option", "gpu0=http://x;stepz=8", /upstream "gpu0": unknown option "stepz"/],
    [
      "a bad edit mode",
      "gpu0=http://x;edit=maybe",
      /upstream "gpu0" option "edit": expected auto, sync, async or none, got "maybe"/,
    ],
    [
      "a bad generate mode",
      "gpu0=http://x;generate=async",
      /upstream "gpu0" option "generate": expected auto, sync or none/,
    ],
    [
      "non-integer steps",
      "gpu0=http://x;steps=8.5",
      /upstream "gpu0" option "steps": expected an integer 1-100/,
    ],
    ["steps out of limits", "gpu0=http://x;steps=0", /option "steps"/],
    ["guidance not a number", "gpu0=http://x;guidance=high", /option "guidance": expected a number 0-20/],
    ["an inverted range", "gpu0=http://x;steps_range=9-8", /option "steps_range": expected MIN-MAX/],
    ["a range without MAX", "gpu0=http://x;guidance_range=1", /option "guidance_range"/],
    [
      "a default outside its range",
      "gpu0=http://x;steps=50;steps_range=8-9",
      /upstream "gpu0" option "steps": the default 50 is outside steps_range 8-9/,
    ],
    [
      "a guidance default outside its range",
      "gpu0=http://x;guidance=4;guidance_range=0-0",
      /option "guidance": the default 4 is outside/,
    ],
    ["an option given twice", "gpu0=http://x;steps=8;steps=9", /option "steps" is given twice/],
    ["an option without a value", "gpu0=http://x;edit", /option "edit": expected/],
    ["a name used twice", "a=http://x,a=http://y", /"a" is used twice/],
    ["a bad name", "gpu 0=http://x", /upstream "gpu 0": the name must be/],
    ["a non-http URL", "a=ftp://x", /upstream "a" URL must be http or https/],
    ["an entry without =", "a=http://x,gpu1", /upstream 2: expected name=url/],
  ];
  it.each(invalid)("rejects %s, naming the upstream and option", (_what, spec, message) => {
    expect(() => parseUpstreams(spec)).toThrow(message);
  });

  const secret = "hunter2";
  const leaky: Array<[string, string]> = [
    ["an invalid URL", `a=http://admin:${secret}@[bad`],
    ["a bad option after a URL with credentials", `a=http://admin:${secret}@gpu0;steps=x`],
    ["a name that is a URL with credentials", `http//admin:${secret}@gpu0=http://x`],
    ["a bad scheme with credentials", `a=ftp://admin:${secret}@gpu0`],
  ];
  it.each(leaky)("never repeats a URL's credentials: %s", (_what, spec) => {
    let message = "";
    try {
      parseUpstreams(spec);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).not.toBe("");
    expect(message).not.toContain(secret);
  });
});

describe("displayUrl", () => {
  it("drops the user and password", () => {
    expect(displayUrl("http://admin:hunter2@gpu0:8003/")).toBe("http://gpu0:8003");
    expect(displayUrl("https://gpu1.lan")).toBe("https://gpu1.lan");
    expect(displayUrl("not a url")).toBe("(invalid URL)");
  });
});
