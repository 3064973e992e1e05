import { type Cluster, type JobView, startCluster } from "@zimage/test-cluster";
import { makePng, pngSize, waitFor } from "@zimage/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Issue #11, the api side of the web console: browser sessions, the per-user event stream, retry,
 * delete and the queue history — against a real api, worker and simulator.
 */
const ADMIN = "console-admin-key-0123456789abcdef-0123";
let cluster: Cluster;
let userKey: string;
let otherKey: string;

beforeAll(async () => {
  cluster = await startCluster({
    sim: { loadMs: 50, baseMs: 600 },
    env: { ADMIN_API_KEY: ADMIN },
  });
  userKey = await cluster.createKey("console user");
  otherKey = await cluster.createKey("someone else");
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

const signIn = async (key: string) => {
  const res = await fetch(`${cluster.apiUrl}/v1/session`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ key }),
  });
  return { res, cookie: (res.headers.get("set-cookie") ?? "").split(";")[0]! };
};

/** A browser-like request: the session cookie and this site's Origin. */
const asBrowser = (cookie: string, method: string, path: string, body?: unknown, origin = cluster.apiUrl) =>
  fetch(`${cluster.apiUrl}${path}`, {
    method,
    headers: {
      cookie,
      origin,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

interface StreamEvent {
  event: string;
  data: JobView & { id: string; queue_position?: number | null };
}

/** Reads `/v1/events` in the background; `events` fills as they arrive. */
function openStream(auth: Record<string, string>) {
  const controller = new AbortController();
  const events: StreamEvent[] = [];
  const opened = fetch(`${cluster.apiUrl}/v1/events`, { headers: auth, signal: controller.signal });
  const done = (async () => {
    const res = await opened;
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const field = (name: string) =>
            block
              .split("\n")
              .find((l) => l.startsWith(`${name}: `))
              ?.slice(name.length + 2);
          const data = field("data");
          if (data) events.push({ event: field("event") ?? "message", data: JSON.parse(data) });
        }
      }
    } catch (err) {
      if (!controller.signal.aborted) throw err;
    }
  })();
  return {
    opened,
    events,
    close: async () => {
      controller.abort();
      await done;
    },
  };
}

describe("browser sessions", () => {
  it("exchange a key for an HttpOnly cookie that works on every /v1 endpoint and ends at sign-out", async () => {
    const { res, cookie } = await signIn(userKey);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { principal: { name: string; role: string }; open_mode: boolean };
    expect(body).toMatchObject({ principal: { name: "console user", role: "user" }, open_mode: false });
    expect(JSON.stringify(body)).not.toContain(userKey.slice(12));
    const setCookie = res.headers.get("set-cookie") ?? "";
    expect(setCookie).toMatch(/^zg_session=[A-Za-z0-9_-]{43};/);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    expect(setCookie).toMatch(/Path=\/(;|$)/);

    const me = await asBrowser(cookie, "GET", "/v1/session");
    expect(((await me.json()) as { principal: { name: string } }).principal.name).toBe("console user");
    const submitted = await asBrowser(cookie, "POST", "/v1/jobs", {
      prompt: "from the console",
      size: "128x128",
    });
    expect(submitted.status).toBe(202);
    expect((await asBrowser(cookie, "GET", "/v1/jobs")).status).toBe(200);
    // A user's session is no admin.
    expect((await asBrowser(cookie, "GET", "/v1/upstreams")).status).toBe(403);

    expect((await asBrowser(cookie, "DELETE", "/v1/session")).status).toBe(204);
    const after = await asBrowser(cookie, "GET", "/v1/jobs");
    expect(after.status).toBe(401);
  });

  it("refuse a wrong key, a change from another site, and a revoked key's session", async () => {
    const wrong = await signIn("zk_aaaaaaaa_not-a-real-secret");
    expect(wrong.res.status).toBe(401);
    expect(((await wrong.res.json()) as { error: { code: string } }).error.code).toBe("invalid_api_key");
    expect(wrong.res.headers.get("set-cookie")).toBeNull();
    expect((await fetch(`${cluster.apiUrl}/v1/session`, { method: "POST" })).status).toBe(400);

    const key = await cluster.createKey("to be revoked");
    const { cookie } = await signIn(key);
    const crossSite = await asBrowser(cookie, "POST", "/v1/jobs", { prompt: "csrf" }, "https://evil.example");
    expect(crossSite.status).toBe(403);
    expect(((await crossSite.json()) as { error: { code: string } }).error.code).toBe("forbidden");
    // Reads need no Origin: a plain navigation or an <img> sends none.
    expect((await fetch(`${cluster.apiUrl}/v1/jobs`, { headers: { cookie } })).status).toBe(200);

    const id = key.split("_")[1]!;
    const revoke = await cluster.request("DELETE", `/v1/admin/keys/${id}`, { key: ADMIN });
    expect(revoke.status).toBe(200);
    expect((await fetch(`${cluster.apiUrl}/v1/jobs`, { headers: { cookie } })).status).toBe(401);
  });

  it("also open the queue admin for an admin", async () => {
    const { cookie } = await signIn(ADMIN);
    const board = await fetch(`${cluster.apiUrl}/admin/queues`, { headers: { cookie } });
    expect(board.status).toBe(200);
    expect((await asBrowser(cookie, "GET", "/v1/upstreams")).status).toBe(200);
  });
});

describe("GET /v1/events", () => {
  it("streams each of the caller's jobs through its states, and none of anyone else's", async () => {
    const stream = openStream({ authorization: `Bearer ${userKey}` });
    expect((await stream.opened).status).toBe(200);
    const first = await cluster.submit({ prompt: "stream one", size: "128x128" }, userKey);
    const second = await cluster.submit({ prompt: "stream two", size: "128x128" }, userKey);
    const foreign = await cluster.submit({ prompt: "not yours", size: "128x128" }, otherKey);
    await cluster.waitFor(second, undefined, 30_000, userKey);
    await cluster.waitFor(foreign, undefined, 30_000, otherKey);
    const statuses = (id: string) =>
      stream.events.filter((e) => e.event === "job" && e.data.id === id).map((e) => e.data.status);
    await waitFor(() => statuses(second).at(-1) === "succeeded", { what: "the second job's last event" });
    await stream.close();

    const dedupe = (s: string[]) => s.filter((x, i) => x !== s[i - 1]);
    // The first may be running before the stream has read it as queued; the second waits its turn.
    expect(["queued,running,succeeded", "running,succeeded"]).toContain(dedupe(statuses(first)).join());
    expect(dedupe(statuses(second))).toEqual(["queued", "running", "succeeded"]);
    // While the first ran, the second's place in line was sent as it moved.
    const positions = stream.events
      .filter((e) => e.data.id === second && e.data.status === "queued")
      .map((e) => e.data.queue_position);
    expect(positions[0]).toBeGreaterThanOrEqual(1);
    expect(stream.events.some((e) => e.data.id === foreign)).toBe(false);
  });

  it("opens with the caller's unfinished jobs and reports a deleted one", async () => {
    const running = await cluster.submit({ prompt: "already there", size: "128x128" }, userKey);
    const stream = openStream({ authorization: `Bearer ${userKey}` });
    await waitFor(() => stream.events.some((e) => e.data.id === running), { what: "the opening event" });
    const done = await cluster.waitFor(running, undefined, 30_000, userKey);
    expect(done.status).toBe("succeeded");
    await waitFor(() => stream.events.some((e) => e.data.id === running && e.data.status === "succeeded"), {
      what: "the success event",
    });
    expect((await cluster.request("DELETE", `/v1/jobs/${running}`, { key: userKey })).status).toBe(204);
    await waitFor(() => stream.events.some((e) => e.event === "deleted" && e.data.id === running), {
      what: "the deleted event",
    });
    await stream.close();
  });

  it("needs a key or a session", async () => {
    expect((await fetch(`${cluster.apiUrl}/v1/events`)).status).toBe(401);
  });
});

describe("retry and delete", () => {
  it("retries a text-to-image job with the same parameters, as a new job", async () => {
    const id = await cluster.submit(
      { prompt: "again please", size: "160x128", num_inference_steps: 9, seed: 7 },
      userKey,
    );
    await cluster.waitFor(id, undefined, 30_000, userKey);
    const res = await cluster.request("POST", `/v1/jobs/${id}/retry`, { key: userKey });
    expect(res.status).toBe(202);
    const copy = (await res.json()) as JobView & { params: Record<string, unknown> };
    expect(copy.id).not.toBe(id);
    expect(copy.params).toMatchObject({
      prompt: "again please",
      size: "160x128",
      num_inference_steps: 9,
      seed: 7,
    });
    const done = await cluster.waitFor(copy.id, undefined, 30_000, userKey);
    expect(done.status).toBe("succeeded");
    expect(done.result!.images[0]).toMatchObject({ width: 160, height: 128 });
    // Someone else's job cannot be retried (or even seen).
    expect((await cluster.request("POST", `/v1/jobs/${id}/retry`, { key: otherKey })).status).toBe(404);
  });

  it("retries an edit with the same input image, unless the input is gone", async () => {
    const form = new FormData();
    form.set("prompt", "make it blue");
    form.set("image", new Blob([makePng(96, 64)], { type: "image/png" }), "in.png");
    const submitted = await fetch(`${cluster.apiUrl}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${userKey}` },
      body: form,
    });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as JobView;
    await cluster.waitFor(id, undefined, 30_000, userKey);
    const res = await cluster.request("POST", `/v1/jobs/${id}/retry`, { key: userKey });
    expect(res.status).toBe(202);
    const copy = (await res.json()) as JobView & { kind: string };
    expect(copy.kind).toBe("edit");
    const done = await cluster.waitFor(copy.id, undefined, 30_000, userKey);
    expect(done.status).toBe("succeeded");
    const image = await fetch(`${cluster.apiUrl}/v1/jobs/${copy.id}/images/0`, {
      headers: { authorization: `Bearer ${userKey}` },
    });
    // The input's size fitted to the bounds (issue #17): 96x64 → 192x128.
    expect(pngSize(Buffer.from(await image.arrayBuffer()))).toEqual({ width: 192, height: 128 });

    // Deleting the original deletes its input with it: a retry of the deleted job is 410.
    expect((await cluster.request("DELETE", `/v1/jobs/${id}`, { key: userKey })).status).toBe(204);
    const gone = await cluster.request("POST", `/v1/jobs/${id}/retry`, { key: userKey });
    expect(gone.status).toBe(410);

    // A canceled queued edit keeps its view but not its input: the retry says why it cannot.
    const blocker = await cluster.submit({ prompt: "blocker", size: "128x128" }, otherKey);
    const again = await fetch(`${cluster.apiUrl}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${userKey}` },
      body: form,
    });
    const queued = ((await again.json()) as JobView).id;
    expect((await cluster.request("POST", `/v1/jobs/${queued}/cancel`, { key: userKey })).status).toBe(200);
    const noInput = await cluster.request("POST", `/v1/jobs/${queued}/retry`, { key: userKey });
    expect(noInput.status).toBe(409);
    expect(((await noInput.json()) as { error: { code: string } }).error.code).toBe("input_gone");
    await cluster.waitFor(blocker, undefined, 30_000, otherKey);
  });

  it("DELETE cancels an unfinished job and deletes a finished one with its images", async () => {
    const id = await cluster.submit({ prompt: "to delete", size: "128x128" }, userKey);
    const done = await cluster.waitFor(id, undefined, 30_000, userKey);
    const imageUrl = done.result!.images[0]!.url;
    expect((await fetch(imageUrl)).status).toBe(200);

    expect((await cluster.request("DELETE", `/v1/jobs/${id}`, { key: otherKey })).status).toBe(404);
    expect((await cluster.request("DELETE", `/v1/jobs/${id}`, { key: userKey })).status).toBe(204);
    const after = await cluster.request("GET", `/v1/jobs/${id}`, { key: userKey });
    expect(after.status).toBe(410);
    expect(((await after.json()) as { error: { code: string } }).error.code).toBe("job_gone");
    expect((await fetch(imageUrl)).status).toBeGreaterThanOrEqual(404);
    const list = (await (await cluster.request("GET", "/v1/jobs?limit=100", { key: userKey })).json()) as {
      data: JobView[];
    };
    expect(list.data.some((j) => j.id === id)).toBe(false);

    // Unfinished: the first DELETE cancels (200, the view), a second one deletes the tombstone.
    const blocker = await cluster.submit({ prompt: "blocker", size: "128x128" }, otherKey);
    const queued = await cluster.submit({ prompt: "queued", size: "128x128" }, userKey);
    const canceled = await cluster.request("DELETE", `/v1/jobs/${queued}`, { key: userKey });
    expect(canceled.status).toBe(200);
    expect(((await canceled.json()) as JobView).status).toBe("canceled");
    expect((await cluster.request("DELETE", `/v1/jobs/${queued}`, { key: userKey })).status).toBe(204);
    expect((await cluster.request("GET", `/v1/jobs/${queued}`, { key: userKey })).status).toBe(410);
    await cluster.waitFor(blocker, undefined, 30_000, otherKey);
  });
});

describe("GET /v1/admin/queue-history", () => {
  it("gives admins a point a minute, and refuses users and bad queries", async () => {
    const res = await cluster.request("GET", "/v1/admin/queue-history?minutes=60", { key: ADMIN });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      interval_seconds: number;
      points: Array<{ at: string; queued: number; running: number }>;
    };
    expect(body.interval_seconds).toBe(60);
    // The api samples when it starts, so this minute (or the last) has a point.
    expect(body.points.length).toBeGreaterThanOrEqual(1);
    const last = body.points.at(-1)!;
    expect(Date.now() - Date.parse(last.at)).toBeLessThan(3 * 60_000);
    expect(last.queued).toBeGreaterThanOrEqual(0);
    expect((await cluster.request("GET", "/v1/admin/queue-history", { key: userKey })).status).toBe(403);
    expect((await cluster.request("GET", "/v1/admin/queue-history?minutes=0", { key: ADMIN })).status).toBe(
      400,
    );
  });
});
