import { Writable } from "node:stream";
import { createLogger } from "@zimage/core";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { startTestApi, type TestApi } from "./helpers";

// Bookkeeping that fails after the request's real work is done must be logged and counted, not
// dropped: here Redis itself refuses one command (an ACL on the private server), as a real
// misconfigured or failing Redis would.

const ADMIN = "admin-key-for-internal-errors-0123456789";
const bearer = { authorization: `Bearer ${ADMIN}` };
const lines: Array<Record<string, unknown>> = [];
let api: TestApi;
let admin: Redis;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  api = await startTestApi({
    adminKey: ADMIN,
    logger: createLogger({ name: "api-test", level: "warn", destination: sink }),
  });
  admin = new Redis(api.redis.url);
});
afterEach(async () => {
  await admin.acl("SETUSER", "default", "+@all");
});
afterAll(async () => {
  admin?.disconnect();
  await api?.close();
});

async function internalErrors(where: string): Promise<number> {
  const text = await (await fetch(`${api.url}/metrics`)).text();
  const line = text
    .split("\n")
    .find((l) => l.startsWith("zimage_gateway_internal_errors_total{") && l.includes(`where="${where}"`));
  return line ? Number(line.split(" ").pop()) : 0;
}

it("counts and logs a job event that could not be published after a cancel", async () => {
  const submitted = await fetch(`${api.url}/v1/jobs`, {
    method: "POST",
    headers: { ...bearer, "content-type": "application/json" },
    body: JSON.stringify({ prompt: "canceled while Redis refuses PUBLISH" }),
  });
  expect(submitted.status).toBe(202);
  const { id } = (await submitted.json()) as { id: string };
  const before = await internalErrors("job_event_publish");

  await admin.acl("SETUSER", "default", "-publish");
  const canceled = await fetch(`${api.url}/v1/jobs/${id}/cancel`, { method: "POST", headers: bearer });

  expect(canceled.status).toBe(200);
  expect(((await canceled.json()) as { status: string }).status).toBe("canceled");
  expect(await internalErrors("job_event_publish")).toBe(before + 1);
  expect(lines).toContainEqual(
    expect.objectContaining({ where: "job_event_publish", jobId: id, err: expect.stringMatching(/NOPERM/) }),
  );
});

it("counts and logs a sign-out whose session could not be deleted", async () => {
  const signedIn = await fetch(`${api.url}/v1/session`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ key: ADMIN }),
  });
  expect(signedIn.status).toBe(200);
  const cookie = signedIn.headers.get("set-cookie")?.split(";")[0] ?? "";
  const before = await internalErrors("session_end");

  await admin.acl("SETUSER", "default", "-del");
  const signedOut = await fetch(`${api.url}/v1/session`, { method: "DELETE", headers: { cookie } });

  expect(signedOut.status).toBe(204);
  expect(await internalErrors("session_end")).toBe(before + 1);
  expect(lines).toContainEqual(
    expect.objectContaining({ where: "session_end", err: expect.stringMatching(/NOPERM/) }),
  );
});
