import { setTimeout as sleep } from "node:timers/promises";
import { makePng, pngSize, waitFor } from "@zimage/testkit";
import { type RunningSimulator, startSimulator } from "@zimage/zimage-sim";
import { Response } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import {
  UpstreamConnectionError,
  UpstreamHttpError,
  UpstreamModelLoadError,
  UpstreamOutOfMemoryError,
  UpstreamTaskLostError,
  UpstreamTimeoutError,
} from "./errors";
import { type StubHandler, type StubServer, sendJson, startStub } from "./testing/stub-server";
import type { EditRequest, ZImageClientOptions } from "./types";
import { ZImageClient } from "./zimage-client";

const sims: RunningSimulator[] = [];
let stub: StubServer | undefined;
let client: ZImageClient | undefined;

afterEach(async () => {
  await client?.close();
  await Promise.all(sims.splice(0).map((s) => s.close()));
  await stub?.close();
  client = stub = undefined;
});

async function referenceSim(opts: { port?: number; baseMs?: number } = {}): Promise<RunningSimulator> {
  const sim = await startSimulator({ profile: "reference", loadMs: 50, baseMs: 20, ...opts });
  sims.push(sim);
  return sim;
}

function clientFor(url: string, opts: Partial<ZImageClientOptions> = {}): ZImageClient {
  client = new ZImageClient({ baseUrl: url, ...opts });
  return client;
}

const input = makePng(64, 48, 3);
const editRequest = (): EditRequest => ({
  image: input,
  filename: "in.png",
  contentType: "image/png",
  prompt: "make it blue",
  // Fields the async route does not read; they must not be sent as if honoured.
  size: "512x512",
  num_inference_steps: 8,
});
const poll = { timeoutMs: 10_000, pollIntervalMs: 20 };

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => e,
  );
}

describe("editViaTask against the reference simulator", () => {
  it("submits, polls to completion, and the result URL on the server's guessed host is rebased and fetched", async () => {
    const sim = await referenceSim();
    const client = clientFor(sim.url);
    const result = await client.editViaTask(editRequest(), poll);
    expect(result.data).toHaveLength(1);
    const url = new URL(result.data[0]!.url!);
    // The server names a host of its own choosing, unreachable from here on purpose.
    expect(url.hostname).toBe("zimage-gpu.invalid");
    expect(url.pathname).toMatch(/^\/outputs\/gen_\d+_[0-9a-f]+\.png$/);
    const png = await client.download(url.toString());
    // The reference server keeps the input's size for edits: proof this is the edit's output.
    expect(pngSize(png)).toEqual({ width: 64, height: 48 });
    expect(sim.stats()).toMatchObject({ pipelineLoads: { t2i: 0, edit: 1 } });
  });

  it("a task id the server never issued answers failed 'Task not found'", async () => {
    const sim = await referenceSim();
    const state = await clientFor(sim.url).task("0123456789abcdef0123456789abcdef");
    expect(state).toEqual({ status: "failed", error: expect.stringMatching(/^Task not found/) });
  });

  it("a server restarted mid-task forgot it: UpstreamTaskLostError, retryable, upstream_unavailable", async () => {
    const first = await referenceSim({ baseMs: 2_000 });
    const client = clientFor(first.url);
    const editing = rejection(client.editViaTask(editRequest(), poll));
    await waitFor(() => first.stats().requests.some((r) => r.path === "/v1/images/async_edit"), {
      timeoutMs: 5_000,
    });
    await first.close();
    // Down for several polls, then back on the same port with fresh memory: the polls refused
    // meanwhile are ridden out, and the server's answer tells what happened.
    await sleep(200);
    await referenceSim({ port: first.port });
    const err = await editing;
    expect(err).toBeInstanceOf(UpstreamTaskLostError);
    expect(err).toMatchObject({ code: "upstream_unavailable", retryable: true, taskId: expect.any(String) });
    expect((err as Error).message).toMatch(/Task not found/);
  });

  it("a failed edit-model load is an UpstreamModelLoadError, and the next edit succeeds", async () => {
    const sim = await referenceSim();
    sim.setFaults({ loadFailures: 1 });
    const client = clientFor(sim.url);
    const err = await rejection(client.editViaTask(editRequest(), poll));
    expect(err).toBeInstanceOf(UpstreamModelLoadError);
    expect(err).toMatchObject({ code: "upstream_model_load_failed", retryable: true, status: 500 });
    expect((err as UpstreamModelLoadError).body).toMatch(/Edit Load Error/);
    await expect(client.editViaTask(editRequest(), poll)).resolves.toMatchObject({ data: [{}] });
  });

  it("a task failing with CUDA out of memory is an UpstreamOutOfMemoryError", async () => {
    const sim = await referenceSim();
    sim.setFaults({ oomAbovePixels: 1000 });
    const err = await rejection(clientFor(sim.url).editViaTask(editRequest(), poll));
    expect(err).toBeInstanceOf(UpstreamOutOfMemoryError);
    expect(err).toMatchObject({ retryable: false });
  });

  it("the deadline covers the whole task: a slow one is an UpstreamTimeoutError at timeoutMs", async () => {
    const sim = await referenceSim();
    sim.setFaults({ latencyMs: 5_000 });
    const started = performance.now();
    const err = await rejection(
      clientFor(sim.url).editViaTask(editRequest(), { timeoutMs: 300, pollIntervalMs: 50 }),
    );
    const elapsed = performance.now() - started;
    expect(err).toBeInstanceOf(UpstreamTimeoutError);
    expect(err).toMatchObject({ code: "upstream_timeout", retryable: true, timeoutMs: 300 });
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1_500);
  });

  it("an abort stops polling at once and rejects with the caller's reason", async () => {
    const sim = await referenceSim();
    sim.setFaults({ latencyMs: 5_000 });
    const controller = new AbortController();
    const reason = new Error("job cancelled");
    const started = performance.now();
    const editing = rejection(
      clientFor(sim.url).editViaTask(editRequest(), {
        ...poll,
        pollIntervalMs: 1_000,
        signal: controller.signal,
      }),
    );
    setTimeout(() => controller.abort(reason), 150);
    expect(await editing).toBe(reason);
    expect(performance.now() - started).toBeLessThan(900);
  });
});

describe("async edit against a stub", () => {
  async function stubClient(handler: StubHandler) {
    stub = await startStub(handler);
    return { stub, client: clientFor(stub.url) };
  }

  it("asyncEdit sends only image and prompt, the fields the reference server reads", async () => {
    const { stub, client } = await stubClient((_req, res) =>
      sendJson(res, 200, { task_id: "t1", status: "processing" }),
    );
    await expect(client.asyncEdit(editRequest())).resolves.toEqual({ taskId: "t1" });
    const req = stub.requests[0]!;
    expect(`${req.method} ${req.path}`).toBe("POST /v1/images/async_edit");
    const form = await new Response(req.body, {
      headers: { "content-type": req.headers["content-type"]! },
    }).formData();
    expect([...form.keys()].sort()).toEqual(["image", "prompt"]);
    const image = form.get("image") as unknown as File;
    expect(Buffer.from(await image.arrayBuffer()).equals(input)).toBe(true);
  });

  it("task() reads processing, completed (without created) and failed; an unknown status is a protocol error", async () => {
    let body: unknown = { status: "processing" };
    const { stub, client } = await stubClient((_req, res) => sendJson(res, 200, body));
    await expect(client.task("a/b")).resolves.toEqual({ status: "processing" });
    expect(stub.requests[0]!.path).toBe("/v1/images/tasks/a%2Fb");
    body = { status: "completed", data: [{ url: "http://elsewhere:8003/outputs/x.png" }] };
    await expect(client.task("a")).resolves.toEqual({
      status: "completed",
      response: { created: expect.any(Number), data: [{ url: "http://elsewhere:8003/outputs/x.png" }] },
    });
    body = { status: "failed", error: "boom" };
    await expect(client.task("a")).resolves.toEqual({ status: "failed", error: "boom" });
    body = { status: "weird" };
    await expect(client.task("a")).rejects.toMatchObject({ code: "upstream_protocol_error" });
  });

  it("a task failing with no error text is a 500 with emptyDetail", async () => {
    const { client } = await stubClient((req, res) =>
      req.method === "POST"
        ? sendJson(res, 200, { task_id: "t1", status: "processing" })
        : sendJson(res, 200, { status: "failed", error: "" }),
    );
    const err = await rejection(client.editViaTask(editRequest(), poll));
    expect((err as Error).constructor).toBe(UpstreamHttpError);
    expect(err).toMatchObject({ status: 500, emptyDetail: true, retryable: true });
  });

  it("an upstream that stays unreachable while polling fails with the connection error after the control timeout", async () => {
    let polls = 0;
    const { client } = await stubClient((req, res) => {
      if (req.method === "POST") return sendJson(res, 200, { task_id: "t1", status: "processing" });
      polls++;
      req.raw.socket.destroy();
    });
    await client.close();
    // The control timeout bounds how long a lost connection is ridden out.
    const short = clientFor(stub!.url, { controlTimeoutMs: 200 });
    const started = performance.now();
    const err = await rejection(short.editViaTask(editRequest(), poll));
    expect(err).toBeInstanceOf(UpstreamConnectionError);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(polls).toBeGreaterThan(1);
  });
});
