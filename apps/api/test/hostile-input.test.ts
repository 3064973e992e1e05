import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { crc32, deflateSync } from "node:zlib";
import { makePng } from "@zimage/testkit";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "./helpers";

/**
 * Issue #10, hostile input: every malformed, oversized or malicious request gets a 4xx with a
 * stable error code — never a 5xx, a hang or a crash — on the real api over a private Redis.
 */
const ADMIN = "admin-key-for-the-hostile-input-tests-0123456789";
let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({
    adminKey: ADMIN,
    maxJsonBytes: 64 * 1024,
    maxUploadBytes: 256 * 1024,
    // Generous, so the fuzzing below (which sends bad keys) is not cut short by the limit.
    authFailureLimits: { maxFailures: 100_000, windowSeconds: 60 },
    allowPrivateWebhooks: false,
  });
});
afterAll(async () => {
  await api?.close();
});

const auth = { authorization: `Bearer ${ADMIN}` };

async function send(
  method: string,
  path: string,
  init: { headers?: Record<string, string>; body?: string | FormData } = {},
): Promise<{ status: number; code: string | undefined }> {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: { ...auth, ...init.headers },
    body: init.body ?? null,
  });
  const text = await res.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch {
    code = undefined;
  }
  return { status: res.status, code };
}

const postJson = (body: string, headers: Record<string, string> = {}) =>
  send("POST", "/v1/jobs", { headers: { "content-type": "application/json", ...headers }, body });

function multipart(parts: Array<{ name: string; value: Buffer | string; filename?: string; type?: string }>) {
  const form = new FormData();
  for (const p of parts) {
    if (p.filename !== undefined) {
      form.append(p.name, new Blob([p.value], { type: p.type ?? "application/octet-stream" }), p.filename);
    } else form.append(p.name, String(p.value));
  }
  return send("POST", "/v1/jobs", { body: form });
}

/** A structurally valid PNG whose header claims `side`x`side` pixels over a few bytes of data. */
function bombPng(side: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(Buffer.alloc(64 * 1024))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

describe("classic hostile bodies", () => {
  it.each([
    ["huge JSON", 413, "payload_too_large", "x".repeat(100 * 1024)],
    ["deeply nested JSON", 400, "invalid_request", `{"prompt":${"[".repeat(20_000)}${"]".repeat(20_000)}}`],
    ["not JSON", 400, "invalid_json", "{prompt:"],
    ["a JSON array", 400, "invalid_request", "[1,2]"],
    ["a JSON string", 400, "invalid_json", '"prompt"'],
    ["prompt as a number", 400, "invalid_request", '{"prompt":5}'],
    ["n as a string", 400, "invalid_request", '{"prompt":"x","n":"2"}'],
    ["n as a float", 400, "invalid_request", '{"prompt":"x","n":1.5}'],
    ["size as a number", 400, "invalid_request", '{"prompt":"x","size":1024}'],
    ["boolean as a string", 400, "invalid_request", '{"prompt":"x","cfg_normalization":"yes"}'],
    ["NUL byte in the prompt", 400, "invalid_request", '{"prompt":"a\\u0000b"}'],
    ["empty prompt", 400, "invalid_request", '{"prompt":"  "}'],
    ["size 0x0", 400, "invalid_request", '{"prompt":"x","size":"0x0"}'],
    ["size 99999x99999", 400, "invalid_request", '{"prompt":"x","size":"99999x99999"}'],
    ["size 1000x1000 (not /32)", 400, "invalid_request", '{"prompt":"x","size":"1000x1000"}'],
    ["negative size", 400, "invalid_request", '{"prompt":"x","size":"-512x512"}'],
    ["three dimensions", 400, "invalid_request", '{"prompt":"x","size":"512x512x512"}'],
    ["unknown field", 400, "invalid_request", '{"prompt":"x","__proto__":{"admin":true}}'],
    [
      "prototype pollution",
      400,
      "invalid_request",
      '{"prompt":"x","constructor":{"prototype":{"polluted":1}}}',
    ],
    [
      "webhook with a header injection",
      400,
      "webhook_url_forbidden",
      '{"prompt":"x","webhook":{"url":"http://example.com/\\r\\nX-Injected: 1"}}',
    ],
    [
      "webhook to a file URL",
      400,
      "webhook_url_forbidden",
      '{"prompt":"x","webhook":{"url":"file:///etc/passwd"}}',
    ],
    [
      "webhook to javascript:",
      400,
      "webhook_url_forbidden",
      '{"prompt":"x","webhook":{"url":"javascript:alert(1)"}}',
    ],
    [
      "webhook to the metadata address",
      400,
      "webhook_url_forbidden",
      '{"prompt":"x","webhook":{"url":"http://169.254.169.254/latest"}}',
    ],
    [
      "webhook with credentials",
      400,
      "webhook_url_forbidden",
      '{"prompt":"x","webhook":{"url":"https://u:p@example.com/"}}',
    ],
    [
      "webhook to loopback by decimal IP",
      400,
      "webhook_url_forbidden",
      '{"prompt":"x","webhook":{"url":"http://2130706433/"}}',
    ],
  ])("%s → %i %s", async (_name, status, code, body) => {
    expect(await postJson(body)).toEqual({ status, code });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("accepts unusual but legitimate unicode in prompts", async () => {
    for (const prompt of ["日本語のテキスト", "emoji 🦊🔥", "RTL שלום", "combining é", "zero\u200bwidth"]) {
      expect(await postJson(JSON.stringify({ prompt, size: "128x128" }))).toEqual({
        status: 202,
        code: undefined,
      });
    }
  });

  it("refuses wrong content types and encodings", async () => {
    expect(await send("POST", "/v1/jobs", { headers: { "content-type": "text/plain" }, body: "x" })).toEqual({
      status: 415,
      code: "unsupported_media_type",
    });
    expect(
      await postJson('{"prompt":"x"}', { "content-type": "application/json; charset=iso-8859-1" }),
    ).toEqual({
      status: 415,
      code: "unsupported_media_type",
    });
    expect(await postJson('{"prompt":"x"}', { "content-encoding": "br-fake" })).toEqual({
      status: 415,
      code: "unsupported_media_type",
    });
  });

  it("refuses bad uploads: two files, text named .png, a truncated PNG, a decompression bomb, no file", async () => {
    const png = makePng(64, 64);
    expect(
      await multipart([
        { name: "prompt", value: "x" },
        { name: "image", value: png, filename: "a.png", type: "image/png" },
        { name: "image", value: png, filename: "b.png", type: "image/png" },
      ]),
    ).toEqual({ status: 400, code: "invalid_request" });
    expect(
      await multipart([
        { name: "prompt", value: "x" },
        { name: "image", value: "just some text", filename: "cat.png", type: "image/png" },
      ]),
    ).toEqual({ status: 400, code: "invalid_image" });
    expect(
      await multipart([
        { name: "prompt", value: "x" },
        { name: "image", value: png.subarray(0, png.length - 20), filename: "cut.png", type: "image/png" },
      ]),
    ).toEqual({ status: 400, code: "invalid_image" });
    expect(
      await multipart([
        { name: "prompt", value: "x" },
        { name: "image", value: bombPng(60_000), filename: "bomb.png", type: "image/png" },
      ]),
    ).toEqual({ status: 400, code: "invalid_image" });
    expect(await multipart([{ name: "prompt", value: "x" }])).toEqual({
      status: 400,
      code: "invalid_request",
    });
    expect(
      await multipart([
        { name: "prompt", value: "x" },
        { name: "image", value: Buffer.alloc(300 * 1024), filename: "big.png", type: "image/png" },
      ]),
    ).toEqual({ status: 413, code: "payload_too_large" });
  });

  it("keeps a path-traversal file name out of the path the input is stored at", async () => {
    const res = await fetch(`${api.url}/v1/jobs`, {
      method: "POST",
      headers: auth,
      body: (() => {
        const form = new FormData();
        form.append("prompt", "x");
        form.append(
          "image",
          new Blob([makePng(64, 64)], { type: "image/png" }),
          "../../../../etc/passwd.png",
        );
        return form;
      })(),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const { readdir } = await import("node:fs/promises");
    expect(await readdir(`${api.dataDir}/inputs/${id}`)).toEqual(["input.png"]);
  });

  it.each([
    "/v1/jobs/..%2F..%2Fetc%2Fpasswd",
    "/v1/jobs/%00",
    "/v1/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV%0d%0aX-Injected:%201",
    "/v1/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV/images/..%2F..%2Fsecret",
    "/v1/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV/images/-1",
    "/v1/jobs/../../etc/passwd",
  ])("answers a traversal or junk id with a 4xx: %s", async (path) => {
    const { status, code } = await send("GET", path);
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(500);
    expect(code).toEqual(expect.any(String));
  });

  it.each([
    ["limit=abc", "invalid_request"],
    ["limit=-1", "invalid_request"],
    ["limit=100000", "invalid_request"],
    ["limit[]=1", "invalid_request"],
    ["status=bogus", "invalid_request"],
    ["cursor=../../x", "invalid_request"],
    ["created_after=yesterday", "invalid_request"],
    ["owner=%00", "invalid_request"],
  ])("refuses a bad listing query: %s", async (query, code) => {
    expect(await send("GET", `/v1/jobs?${query}`)).toEqual({ status: 400, code });
  });

  it("refuses a bad Idempotency-Key and a bad wait", async () => {
    expect(await postJson('{"prompt":"x"}', { "idempotency-key": "x".repeat(300) })).toEqual({
      status: 400,
      code: "invalid_idempotency_key",
    });
    expect(await send("GET", "/v1/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV?wait=99999")).toEqual({
      status: 400,
      code: "invalid_request",
    });
  });
});

describe("fuzzing (fast-check)", () => {
  const FIELDS = [
    "prompt",
    "negative_prompt",
    "n",
    "size",
    "num_inference_steps",
    "guidance_scale",
    "cfg_normalization",
    "seed",
    "response_format",
    "webhook",
    "kind",
  ];
  const arbitraryBody = fc.oneof(
    fc.jsonValue(),
    fc.dictionary(fc.constantFrom(...FIELDS), fc.jsonValue(), { maxKeys: 6 }),
    fc.record(
      {
        prompt: fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), fc.constant("")),
        size: fc.oneof(
          fc.string(),
          fc.tuple(fc.integer(), fc.integer()).map(([w, h]) => `${w}x${h}`),
        ),
        n: fc.oneof(fc.integer(), fc.double(), fc.string()),
        num_inference_steps: fc.oneof(fc.integer(), fc.constant(null)),
        guidance_scale: fc.oneof(fc.double(), fc.string()),
      },
      { requiredKeys: [] },
    ),
  );

  it("never answers a submit body with a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryBody, async (body) => {
        const { status, code } = await postJson(JSON.stringify(body));
        expect(status).toBeLessThan(500);
        if (status >= 400) expect(code).toEqual(expect.any(String));
      }),
      { numRuns: 300 },
    );
  });

  it("never answers a listing query, a job path or a header with a 5xx", async () => {
    const text = fc.string({ maxLength: 40 });
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(
          fc.constantFrom("limit", "cursor", "status", "created_after", "created_before", "owner", "x"),
          text,
        ),
        text,
        fc.record({
          prefer: text,
          "idempotency-key": text,
          authorization: fc.oneof(
            text,
            fc.constant(`Bearer ${ADMIN}`),
            text.map((t) => `Bearer ${t}`),
          ),
        }),
        async (query, id, headers) => {
          const clean = Object.fromEntries(
            Object.entries(headers).filter(([, v]) => /^[\t\x20-\x7e]*$/.test(v) && v.trim() !== ""),
          );
          const qs = new URLSearchParams(query).toString();
          for (const [method, path] of [
            ["GET", `/v1/jobs?${qs}`],
            ["GET", `/v1/jobs/${encodeURIComponent(id)}`],
            ["GET", `/v1/jobs/${encodeURIComponent(id)}/images/${encodeURIComponent(id)}`],
            ["DELETE", `/v1/jobs/${encodeURIComponent(id)}`],
          ] as const) {
            const res = await fetch(`${api.url}${path}`, { method, headers: { ...auth, ...clean } });
            await res.arrayBuffer();
            expect(res.status).toBeLessThan(500);
          }
          const submit = await postJson('{"prompt":"fuzz","size":"128x128"}', clean);
          expect(submit.status).toBeLessThan(500);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("never answers a multipart form with a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(
          fc.constantFrom(...FIELDS, "webhook_url", "webhook_events"),
          fc.string({ maxLength: 30 }),
          {
            maxKeys: 6,
          },
        ),
        fc.uint8Array({ maxLength: 512 }),
        async (fields, bytes) => {
          const form = new FormData();
          for (const [k, v] of Object.entries(fields)) form.append(k, v);
          form.append("image", new Blob([bytes]), "fuzz.png");
          const { status, code } = await send("POST", "/v1/jobs", { body: form });
          expect(status).toBeLessThan(500);
          if (status >= 400) expect(code).toEqual(expect.any(String));
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("memory", () => {
  it("does not grow while refusing many large bodies", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const used = () => {
      gc();
      const m = process.memoryUsage();
      return (m.heapUsed + m.external + m.arrayBuffers) / 1024 / 1024;
    };
    const big = JSON.stringify({ prompt: "x".repeat(60 * 1024) });
    const upload = Buffer.alloc(250 * 1024, 7);
    const round = async () => {
      await postJson(big);
      await multipart([
        { name: "prompt", value: "x" },
        { name: "image", value: upload, filename: "noise.png", type: "image/png" },
      ]);
    };
    for (let i = 0; i < 100; i++) await round(); // warm-up: pools and caches reach their size
    const m1 = used();
    for (let i = 0; i < 300; i++) await round();
    const m2 = used();
    for (let i = 0; i < 300; i++) await round();
    const m3 = used();
    // Keeping what went through would add 300 × ~310 KB ≈ 90 MB in each phase. Allocator noise under
    // a loaded machine reaches tens of MB in one phase (seen: 9-70), but a leak shows in both.
    expect(Math.min(m2 - m1, m3 - m2)).toBeLessThan(45);
  });
});
