import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { makePng } from "@zimage/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "./helpers";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ maxJsonBytes: 64 * 1024, maxUploadBytes: 256 * 1024 });
});
afterAll(async () => {
  await api?.close();
});

const postJson = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${api.url}/v1/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

function form(
  fields: Record<string, string>,
  files: Array<{ name?: string; bytes: Buffer; filename: string; type?: string }>,
) {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  for (const f of files)
    fd.append(f.name ?? "image", new Blob([f.bytes], { type: f.type ?? "image/png" }), f.filename);
  return fetch(`${api.url}/v1/jobs`, { method: "POST", body: fd });
}

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/application\/json/);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
  return body;
}

describe("POST /v1/jobs (text-to-image)", () => {
  it("answers 202 with the queued job view and a Location", async () => {
    const res = await postJson({ prompt: "a lighthouse at dusk", size: "512x512" });
    expect(res.status).toBe(202);
    const view = (await res.json()) as Record<string, unknown>;
    expect(res.headers.get("location")).toBe(`/v1/jobs/${view.id}`);
    expect(view).toMatchObject({
      object: "image.job",
      kind: "generate",
      status: "queued",
      queue_position: expect.any(Number),
      params: {
        prompt: "a lighthouse at dusk",
        size: "512x512",
        n: 1,
        num_inference_steps: 50,
        guidance_scale: 4,
      },
      result: null,
      error: null,
    });
    const again = await fetch(`${api.url}${res.headers.get("location")}`);
    expect(again.status).toBe(200);
    expect(((await again.json()) as { id: string }).id).toBe(view.id);
  });

  it("numbers queued jobs in submission order", async () => {
    const a = (await (await postJson({ prompt: "a" })).json()) as { id: string; queue_position: number };
    const b = (await (await postJson({ prompt: "b" })).json()) as { id: string; queue_position: number };
    expect(b.queue_position).toBe(a.queue_position + 1);
  });

  it("rejects invalid fields with 400 invalid_request and per-field details", async () => {
    const body = await expectError(
      await postJson({ prompt: "x", size: "1000x1000", n: 9 }),
      400,
      "invalid_request",
    );
    const paths = (body.error as unknown as { details: Array<{ path: string }> }).details
      .map((d) => d.path)
      .sort();
    expect(paths).toEqual(["n", "size"]);
  });

  it.each([
    [{}, "missing prompt"],
    [{ prompt: "" }, "empty prompt"],
    [{ prompt: 5 }, "wrong type"],
    [{ prompt: "x", size: "0x0" }, "zero size"],
    [{ prompt: "x", size: "99999x99999" }, "huge size"],
    [{ prompt: "x", steps: 10 }, "unknown field"],
    [[{ prompt: "x" }], "array body"],
  ] as Array<[unknown, string]>)("rejects %j (%s) with 400", async (body) => {
    await expectError(await postJson(body), 400, "invalid_request");
  });

  it("rejects malformed JSON and non-object JSON with 400 invalid_json", async () => {
    for (const body of ['{"prompt": "x",', "null", '"just a string"', "42"]) {
      await expectError(await postJson(body), 400, "invalid_json");
    }
  });

  it("rejects a body over the JSON limit with 413", async () => {
    await expectError(await postJson({ prompt: "x".repeat(100 * 1024) }), 413, "payload_too_large");
  });

  it("rejects other content types with 415", async () => {
    const res = await fetch(`${api.url}/v1/jobs`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "a cat",
    });
    await expectError(res, 415, "unsupported_media_type");
    await expectError(await fetch(`${api.url}/v1/jobs`, { method: "POST" }), 415, "unsupported_media_type");
  });
});

describe("POST /v1/jobs (image-to-image, multipart)", () => {
  it("accepts a real PNG and stores it as the job's input", async () => {
    const res = await form({ prompt: "make it night", n: "2" }, [
      { bytes: makePng(64, 96), filename: "day.png" },
    ]);
    expect(res.status).toBe(202);
    const view = (await res.json()) as {
      id: string;
      kind: string;
      params: { n: number; guidance_scale: number };
    };
    expect(view.kind).toBe("edit");
    expect(view.params).toMatchObject({ n: 2, guidance_scale: 1.5 });
    expect(await readdir(join(api.dataDir, "inputs", view.id))).toEqual(["input.png"]);
  });

  it("requires an image", async () => {
    await expectError(await form({ prompt: "x" }, []), 400, "invalid_request");
  });

  it("rejects two files", async () => {
    const png = makePng(32, 32);
    const res = await form({ prompt: "x" }, [
      { bytes: png, filename: "a.png" },
      { bytes: png, filename: "b.png" },
    ]);
    await expectError(res, 400, "invalid_request");
  });

  it("rejects a file in another field", async () => {
    await expectError(
      await form({ prompt: "x" }, [{ name: "photo", bytes: makePng(32, 32), filename: "a.png" }]),
      400,
      "invalid_request",
    );
  });

  it("rejects a text file named .png, a truncated PNG and a garbage JPEG by their bytes", async () => {
    const png = makePng(64, 64);
    for (const bytes of [
      Buffer.from("not an image at all"),
      png.subarray(0, png.length - 30),
      Buffer.from([0xff, 0xd8, 0xff, 1, 2]),
    ]) {
      await expectError(await form({ prompt: "x" }, [{ bytes, filename: "x.png" }]), 400, "invalid_image");
    }
  });

  it("rejects an upload over the size limit with 413", async () => {
    await expectError(
      await form({ prompt: "x" }, [{ bytes: Buffer.alloc(300 * 1024, 1), filename: "big.png" }]),
      413,
      "payload_too_large",
    );
  });

  it("validates the text fields like the JSON body", async () => {
    await expectError(
      await form({ prompt: "x", size: "100x100" }, [{ bytes: makePng(32, 32), filename: "a.png" }]),
      400,
      "invalid_request",
    );
    await expectError(
      await form({ prompt: "x", n: "lots" }, [{ bytes: makePng(32, 32), filename: "a.png" }]),
      400,
      "invalid_request",
    );
  });

  it("leaves no input on disk for a rejected upload", async () => {
    const before = await readdir(join(api.dataDir, "inputs")).catch(() => []);
    await form({ prompt: "x" }, [{ bytes: Buffer.from("garbage"), filename: "x.png" }]);
    expect(await readdir(join(api.dataDir, "inputs")).catch(() => [])).toEqual(before);
  });
});

describe("GET /v1/jobs/:id and images", () => {
  it("answers 404 job_not_found for unknown and malformed ids", async () => {
    for (const id of ["01JZZZZZZZZZZZZZZZZZZZZZZZ", "nope", "..%2F..%2Fetc%2Fpasswd", "x".repeat(300)]) {
      await expectError(await fetch(`${api.url}/v1/jobs/${id}`), 404, "job_not_found");
    }
  });

  it("answers 409 for the image of an unfinished job and 404 for an unknown job's image", async () => {
    const { id } = (await (await postJson({ prompt: "later" })).json()) as { id: string };
    await expectError(await fetch(`${api.url}/v1/jobs/${id}/images/0`), 409, "job_not_finished");
    await expectError(
      await fetch(`${api.url}/v1/jobs/01JZZZZZZZZZZZZZZZZZZZZZZZ/images/0`),
      404,
      "job_not_found",
    );
  });

  it("answers 404 not_found in JSON for unknown routes", async () => {
    await expectError(await fetch(`${api.url}/v1/nothing`), 404, "not_found");
  });
});

describe("health", () => {
  it("reports alive and ready with Redis up", async () => {
    expect(await (await fetch(`${api.url}/health`)).json()).toEqual({ status: "ok" });
    const ready = await fetch(`${api.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", checks: { redis: "ok" } });
  });

  it("echoes a sane X-Request-Id and replaces an unsafe one", async () => {
    expect(
      (await fetch(`${api.url}/health`, { headers: { "x-request-id": "abc-123" } })).headers.get(
        "x-request-id",
      ),
    ).toBe("abc-123");
    const replaced = (
      await fetch(`${api.url}/health`, { headers: { "x-request-id": "a b<script>" } })
    ).headers.get("x-request-id");
    expect(replaced).toMatch(/^[0-9a-f-]{36}$/);
  });
});
