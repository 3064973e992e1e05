import { Writable } from "node:stream";
import { createLogger } from "@zimage/core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestApi, type TestApi } from "./helpers";

// Issue #17: a signed image URL's `sig` opens the image to whoever holds it, and logs are read by
// more people than the job's owner. No log line may carry it, nor any other token-like query value.

const ADMIN = "admin-key-for-the-log-redaction-tests-0123456789";
const lines: string[] = [];
let api: TestApi;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) if (line) lines.push(line);
      done();
    },
  });
  // debug: the request lines of successful requests are written too.
  api = await startTestApi({
    adminKey: ADMIN,
    logger: createLogger({ name: "api-test", level: "debug", destination: sink }),
  });
});
afterAll(async () => {
  await api?.close();
});

it("logs request URLs with signature and token values redacted, at every status", async () => {
  const submitted = await fetch(`${api.url}/v1/jobs`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify({ prompt: "a signed cat", size: "128x128" }),
  });
  const { id } = (await submitted.json()) as { id: string };
  const secrets = ["SIGVALUE0123456789abcdef", "TOKENVALUE42", "APIKEYVALUE77", "PASSWORDVALUE9"];
  const requests = [
    // A signature that does not hold and an expired one (both 403): refusals are logged at info.
    `/v1/jobs/${id}/images/0?expires=9999999999&sig=${secrets[0]}`,
    `/v1/jobs/${id}/images/0?expires=1&sig=${secrets[0]}`,
    // 200s, logged at debug.
    `/v1/jobs/${id}?access_token=${secrets[1]}`,
    `/health?api_key=${secrets[2]}&password=${secrets[3]}`,
    // Percent-encoded parameter names are judged decoded.
    `/health?%73ig=${secrets[0]}`,
  ];
  for (const path of requests) {
    const res = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } });
    await res.arrayBuffer();
  }
  const logged = lines
    .map((l) => JSON.parse(l) as { msg?: string; req?: { url?: string }; res?: { statusCode?: number } })
    .filter((l) => l.msg === "request completed");
  const urls = logged.map((l) => l.req?.url);
  expect(urls).toEqual(
    expect.arrayContaining([
      `/v1/jobs/${id}/images/0?expires=9999999999&sig=[redacted]`,
      `/v1/jobs/${id}/images/0?expires=1&sig=[redacted]`,
      `/v1/jobs/${id}?access_token=[redacted]`,
      "/health?api_key=[redacted]&password=[redacted]",
      "/health?%73ig=[redacted]",
    ]),
  );
  expect(new Set(logged.map((l) => l.res?.statusCode))).toEqual(new Set([202, 403, 200]));
  for (const secret of secrets) expect(lines.join("\n")).not.toContain(secret);
});
