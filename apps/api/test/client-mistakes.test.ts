import { readdir } from "node:fs/promises";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import { makePng, pngSize } from "@zimage/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { startTestApi, type TestApi } from "./helpers";

/**
 * Issue #17 §3: every client mistake is a clear 4xx. One table of bad requests, each sent to every
 * submit endpoint (native JSON, native multipart, OpenAI JSON, OpenAI multipart): each must answer
 * a 4xx in that endpoint's error shape and queue nothing.
 */
const ADMIN = "admin-key-for-the-client-mistakes-tests-0123456789";
const auth = { authorization: `Bearer ${ADMIN}` };
let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({ adminKey: ADMIN, maxUploadBytes: 16 * 1024 * 1024 });
});
afterAll(async () => {
  await api?.close();
});

type Transport = "json" | "multipart";
interface Endpoint {
  name: string;
  path: string;
  transport: Transport;
  shape: "native" | "openai";
}
const ENDPOINTS: Endpoint[] = [
  { name: "native JSON", path: "/v1/jobs", transport: "json", shape: "native" },
  { name: "native multipart", path: "/v1/jobs", transport: "multipart", shape: "native" },
  { name: "OpenAI JSON", path: "/v1/images/generations", transport: "json", shape: "openai" },
  { name: "OpenAI multipart", path: "/v1/images/edits", transport: "multipart", shape: "openai" },
];

const nativeError = z.strictObject({
  error: z.strictObject({ code: z.string(), message: z.string().min(1), details: z.unknown().optional() }),
});
const openaiError = z.strictObject({
  error: z.strictObject({
    code: z.string(),
    message: z.string().min(1),
    type: z.string(),
    param: z.string().nullable(),
  }),
});

type Expected = { status: number; code: string };
interface Case {
  name: string;
  /** Fields added to (or, as undefined, removed from) the baseline `{prompt: "a cat"}`, in order. */
  fields?: Array<[string, unknown]>;
  /** Re-encodes the body bytes and names the Content-Encoding sent. */
  encode?: (body: Buffer) => { encoding: string; body: Buffer };
  expect: Expected | Record<Transport, Expected>;
}

const invalid: Expected = { status: 400, code: "invalid_request" };
/** Multipart uploads are never compressed: any Content-Encoding on one is refused up front. */
const encodingRefused = (json: Expected): Record<Transport, Expected> => ({
  json,
  multipart: { status: 415, code: "unsupported_media_type" },
});

const CASES: Case[] = [
  {
    name: "gzip body that is not gzip",
    encode: (body) => ({ encoding: "gzip", body: Buffer.concat([Buffer.from("not gzip: "), body]) }),
    expect: encodingRefused(invalid),
  },
  {
    name: "truncated gzip body",
    encode: (body) => ({ encoding: "gzip", body: gzipSync(body).subarray(0, 15) }),
    expect: encodingRefused(invalid),
  },
  {
    name: "corrupt br body",
    encode: () => ({ encoding: "br", body: Buffer.from("this is not brotli at all, no") }),
    expect: encodingRefused(invalid),
  },
  {
    name: "truncated br body",
    encode: (body) => ({ encoding: "br", body: brotliCompressSync(body).subarray(0, 5) }),
    expect: encodingRefused(invalid),
  },
  {
    name: "corrupt deflate body",
    encode: (body) => ({ encoding: "deflate", body: deflateSync(body).subarray(2) }),
    expect: encodingRefused(invalid),
  },
  {
    name: "unknown content encoding",
    encode: (body) => ({ encoding: "x-snappy", body }),
    expect: { status: 415, code: "unsupported_media_type" },
  },
  // JSON carries a lone surrogate as an escape; FormData can only send it as U+FFFD, the
  // replacement character every UTF-8 encoder and decoder puts in place of what was not Unicode.
  { name: "lone high surrogate in the prompt", fields: [["prompt", "a \ud800 cat"]], expect: invalid },
  { name: "lone low surrogate in the prompt", fields: [["prompt", "\udc00"]], expect: invalid },
  {
    name: "lone surrogate in the negative prompt",
    fields: [["negative_prompt", "blurry \udbff"]],
    expect: invalid,
  },
  { name: "replacement character in the prompt", fields: [["prompt", "a \ufffd cat"]], expect: invalid },
  {
    name: "zero-width-only prompt",
    fields: [["prompt", "\u200b\u200c\u200d\u2060\ufeff"]],
    expect: invalid,
  },
  { name: "ideographic-space-only prompt", fields: [["prompt", "\u3000\u3000"]], expect: invalid },
  {
    name: "prompt of other Unicode spaces",
    fields: [["prompt", "\u00a0\u1680\u2003\u2009\u202f\u205f\u180e \t\n"]],
    expect: invalid,
  },
  { name: "size with leading zeros", fields: [["size", "0512x0512"]], expect: invalid },
  { name: "size with a leading zero on one side", fields: [["size", "512x0512"]], expect: invalid },
  { name: "n in hex", fields: [["n", "0x2"]], expect: invalid },
  { name: "n with an exponent", fields: [["n", "1e0"]], expect: invalid },
  { name: "n with a leading space", fields: [["n", " 2"]], expect: invalid },
  { name: "n with a plus sign", fields: [["n", "+2"]], expect: invalid },
  { name: "n with a leading zero", fields: [["n", "02"]], expect: invalid },
  { name: "n in binary", fields: [["n", "0b10"]], expect: invalid },
  { name: "steps in octal", fields: [["num_inference_steps", "0o10"]], expect: invalid },
  { name: "guidance with an exponent", fields: [["guidance_scale", "2e0"]], expect: invalid },
  { name: "guidance Infinity", fields: [["guidance_scale", "Infinity"]], expect: invalid },
  { name: "seed in hex", fields: [["seed", "0x10"]], expect: invalid },
  { name: "seed with a trailing dot", fields: [["seed", "7."]], expect: invalid },
  { name: "a __proto__[...] field", fields: [["__proto__[admin]", "true"]], expect: invalid },
  { name: "a bare __proto__ field", fields: [["__proto__", "x"]], expect: invalid },
  {
    name: "a constructor[prototype][...] field",
    fields: [["constructor[prototype][polluted]", "1"]],
    expect: invalid,
  },
  { name: "an unknown field", fields: [["colour", "blue"]], expect: invalid },
];

/** The request an endpoint gets for a case: JSON text, or a multipart form with a valid image. */
async function build(
  endpoint: Endpoint,
  c: Case,
): Promise<{ headers: Record<string, string>; body: Buffer }> {
  const fields = new Map<string, unknown>([["prompt", "a cat"]]);
  for (const [name, value] of c.fields ?? []) {
    if (value === undefined) fields.delete(name);
    else fields.set(name, value);
  }
  let headers: Record<string, string>;
  let body: Buffer;
  if (endpoint.transport === "json") {
    // Written out by hand so `__proto__` is an own key, as it is on the wire.
    const members = [...fields].map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
    headers = { "content-type": "application/json" };
    body = Buffer.from(`{${members.join(",")}}`);
  } else {
    const form = new FormData();
    for (const [k, v] of fields) form.append(k, String(v));
    form.append("image", new Blob([makePng(128, 128)], { type: "image/png" }), "in.png");
    const encoded = new Request("http://localhost/", { method: "POST", body: form });
    headers = { "content-type": encoded.headers.get("content-type")! };
    body = Buffer.from(await encoded.arrayBuffer());
  }
  if (c.encode) {
    const encoded = c.encode(body);
    headers["content-encoding"] = encoded.encoding;
    body = encoded.body;
  }
  return { headers, body };
}

/** Jobs in the queue, in any state, and input images stored: what a refused request must not add. */
async function footprint(): Promise<{ jobs: number; inputs: number }> {
  const counts = await api.queue.getJobCounts();
  const inputs = await readdir(`${api.dataDir}/inputs`).catch(() => []);
  return { jobs: Object.values(counts).reduce((a, b) => a + b, 0), inputs: inputs.length };
}

async function send(endpoint: Endpoint, c: Case) {
  const { headers, body } = await build(endpoint, c);
  // respond-async: a request wrongly accepted by the OpenAI routes answers 202 at once, not after a wait.
  const res = await fetch(`${api.url}${endpoint.path}`, {
    method: "POST",
    headers: { ...auth, prefer: "respond-async", ...headers },
    body,
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

describe("every client mistake is a 4xx in the endpoint's error shape, and queues nothing", () => {
  it.each(ENDPOINTS)("the baseline request is accepted on $name", async (endpoint) => {
    const { status } = await send(endpoint, { name: "baseline", expect: invalid });
    expect(status).toBe(202);
  });

  it.each(ENDPOINTS)("a well-formed gzip JSON body is accepted on $name", async (endpoint) => {
    if (endpoint.transport !== "json") return;
    const c: Case = {
      name: "gzip",
      encode: (b) => ({ encoding: "gzip", body: gzipSync(b) }),
      expect: invalid,
    };
    expect((await send(endpoint, c)).status).toBe(202);
  });

  const table = CASES.flatMap((c) =>
    ENDPOINTS.map((endpoint) => ({ c, endpoint, label: `${c.name} on ${endpoint.name}` })),
  );
  it.each(table)("$label", async ({ c, endpoint }) => {
    const before = await footprint();
    const { status, json } = await send(endpoint, c);
    const want = "status" in c.expect ? c.expect : c.expect[endpoint.transport];
    const shape = endpoint.shape === "native" ? nativeError : openaiError;
    expect({ status, body: shape.safeParse(json).success ? "ok" : json }).toEqual({
      status: want.status,
      body: "ok",
    });
    expect((json as { error: { code: string } }).error.code).toBe(want.code);
    expect(await footprint()).toEqual(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });
});

describe("a malformed percent-encoding in a path parameter is a 400, never a 500", () => {
  const ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
  it.each([
    ["GET", "/v1/jobs/%zz"],
    ["GET", "/v1/jobs/%E0%A4%A"],
    ["DELETE", "/v1/jobs/%zz"],
    ["POST", "/v1/jobs/%zz/cancel"],
    ["POST", "/v1/jobs/%zz/retry"],
    ["GET", "/v1/jobs/%zz/events"],
    ["GET", "/v1/jobs/%zz/deliveries"],
    ["GET", "/v1/jobs/%zz/images/0"],
    ["GET", `/v1/jobs/${ID}/images/%zz`],
    // The signed image URL is answered before authentication.
    ["GET", "/v1/jobs/%zz/images/0?expires=9999999999&sig=abc"],
    ["GET", `/v1/jobs/${ID}/images/%zz?expires=9999999999&sig=abc`],
    ["DELETE", "/v1/admin/keys/%zz"],
    ["PATCH", "/v1/admin/keys/%zz"],
  ])("%s %s", async (method, path) => {
    const res = await fetch(`${api.url}${path}`, { method, headers: auth });
    const body = nativeError.safeParse(await res.json());
    expect([res.status, body.success]).toEqual([400, true]);
    expect(body.data?.error.code).toBe("invalid_request");
  });
});

describe("an edit without size renders within the bounds size has", () => {
  const multipartEndpoints = ENDPOINTS.filter((e) => e.transport === "multipart");
  const submitEdit = async (endpoint: Endpoint, image: Buffer, size?: string) => {
    const form = new FormData();
    form.append("prompt", "make it blue");
    if (size) form.append("size", size);
    form.append("image", new Blob([image], { type: "image/png" }), "in.png");
    const res = await fetch(`${api.url}${endpoint.path}`, {
      method: "POST",
      headers: { ...auth, prefer: "respond-async" },
      body: form,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  const fitted = multipartEndpoints.flatMap((endpoint) =>
    [
      [2560, 1920, "2048x1536"],
      [1000, 1000, "992x992"],
      [96, 64, "192x128"],
      [512, 384, "512x384"],
    ].map(([w, h, size]) => ({ endpoint, w: w as number, h: h as number, size: size as string })),
  );
  it.each(fitted)(
    "a $w x $h input on $endpoint.name is asked for $size",
    async ({ endpoint, w, h, size }) => {
      const image = makePng(w, h);
      expect(pngSize(image)).toEqual({ width: w, height: h });
      const { status, body } = await submitEdit(endpoint, image);
      expect(status).toBe(202);
      // The job's params carry the size, which is what the worker sends the upstream.
      expect((body.params as { size?: string }).size).toBe(size);
    },
  );

  it.each(multipartEndpoints)("a size sent with the edit is kept on $name", async (endpoint) => {
    const { status, body } = await submitEdit(endpoint, makePng(1000, 1000), "256x128");
    expect(status).toBe(202);
    expect((body.params as { size?: string }).size).toBe("256x128");
  });

  it.each(multipartEndpoints)(
    "an input too elongated for any allowed size is refused on $name",
    async (endpoint) => {
      const before = await footprint();
      const { status, body } = await submitEdit(endpoint, makePng(2600, 40));
      const shape = endpoint.shape === "native" ? nativeError : openaiError;
      expect([status, shape.safeParse(body).success]).toEqual([400, true]);
      expect(JSON.stringify(body)).toMatch(/2600x40.*send size/);
      if (endpoint.shape === "openai") expect((body.error as { param: string }).param).toBe("size");
      expect(await footprint()).toEqual(before);
      // With a size the client chose, the same input is accepted.
      expect((await submitEdit(endpoint, makePng(2600, 40), "2048x128")).status).toBe(202);
    },
  );
});
