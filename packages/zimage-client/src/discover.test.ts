import { freePort } from "@zimage/testkit";
import { type RunningSimulator, startSimulator } from "@zimage/zimage-sim";
import { afterEach, describe, expect, it } from "vitest";
import { UpstreamConnectionError } from "./errors";
import { type StubHandler, type StubServer, sendJson, sendText, startStub } from "./testing/stub-server";
import { ZImageClient } from "./zimage-client";

let sim: RunningSimulator | undefined;
let stub: StubServer | undefined;
let client: ZImageClient | undefined;

afterEach(async () => {
  await client?.close();
  await sim?.close();
  await stub?.close();
  client = sim = stub = undefined;
});

async function simClient(profile: "reference" | "documented") {
  sim = await startSimulator({ profile, loadMs: 50, baseMs: 20 });
  client = new ZImageClient({ baseUrl: sim.url });
  return { sim, client };
}

async function stubClient(handler: StubHandler) {
  stub = await startStub(handler);
  client = new ZImageClient({ baseUrl: stub.url });
  return { stub, client };
}

describe("discover() against the simulator", () => {
  it("reference profile: routes from its openapi.json, edits through the async pair, per-pipeline health", async () => {
    const { sim, client } = await simClient("reference");
    const found = await client.discover();
    expect(found).toMatchObject({
      routes_from: "openapi",
      health_shape: "pipelines",
      generate: "sync",
      edit: "async",
      models: [
        { id: "Tongyi-MAI/Z-Image", capabilities: ["text-to-image"] },
        { id: "Tongyi-MAI/Z-Image-Edit", capabilities: ["image-to-image"] },
      ],
    });
    expect(found.routes).toEqual(
      expect.arrayContaining([
        "POST /v1/images/generations",
        "POST /v1/images/async_edit",
        "GET /v1/images/tasks/{task_id}",
        "POST /v1/images/async_generate",
      ]),
    );
    expect(found.routes).not.toContain("POST /v1/images/edits");
    expect(found.routes.every((r) => / \/v1\/images\//.test(r))).toBe(true);
    // No image request reached the GPU: discovery must never cost a model load.
    expect(sim.stats()).toMatchObject({ loads: 0, requests: [] });
  });

  it("documented profile: no openapi.json, so routes are probed; sync edits, single-model health", async () => {
    const { sim, client } = await simClient("documented");
    await expect(client.discover()).resolves.toEqual({
      routes_from: "probe",
      routes: ["POST /v1/images/generations", "POST /v1/images/edits"],
      // Its capabilities are an object of flags, not a list: read as not listed.
      models: [{ id: "z-image-turbo", capabilities: null }],
      health_shape: "single",
      generate: "sync",
      edit: "sync",
    });
    expect(sim.stats()).toMatchObject({ loads: 0, requests: [] });
  });
});

describe("discover() against plain servers", () => {
  it("probes an Express-style server (404 for a wrong method): GET, then POST {} on a 404", async () => {
    const { stub, client } = await stubClient((req, res) => {
      const route = `${req.method} ${req.path.replace(/\/tasks\/[^/]+$/, "/tasks/:id")}`;
      switch (route) {
        case "GET /health":
          return sendJson(res, 200, { status: "ok", t2i_loaded: true, edit_loaded: false });
        case "GET /v1/models":
          return sendJson(res, 200, { data: [{ id: "m" }] });
        case "POST /v1/images/generations":
          return sendJson(res, 422, { detail: [{ loc: ["body", "prompt"], msg: "Field required" }] });
        case "POST /v1/images/async_edit":
          return sendJson(res, 400, { detail: "image is required" });
        case "GET /v1/images/tasks/:id":
          return sendJson(res, 200, { status: "failed", error: "Task not found" });
        default:
          return sendText(res, 404, "text/html", `<pre>Cannot ${req.method} ${req.path}</pre>`);
      }
    });
    await expect(client.discover()).resolves.toEqual({
      routes_from: "probe",
      routes: ["POST /v1/images/generations", "POST /v1/images/async_edit", "GET /v1/images/tasks/{task_id}"],
      models: [{ id: "m", capabilities: null }],
      health_shape: "pipelines",
      generate: "sync",
      edit: "async",
    });
    const probes = stub.requests
      .filter((r) => r.path.startsWith("/v1/images/"))
      .map((r) => `${r.method} ${r.path} ${r.body.toString()}`.trim());
    expect(probes).toEqual([
      "GET /v1/images/generations",
      "POST /v1/images/generations {}",
      "GET /v1/images/edits",
      "POST /v1/images/edits {}",
      "GET /v1/images/async_edit",
      "POST /v1/images/async_edit {}",
      "GET /v1/images/tasks/zimage-gateway-route-probe",
    ]);
  });

  it("probes a FastAPI-style server (405 for a wrong method) with GETs only; listed capabilities rule edits out", async () => {
    const routes: Record<string, string> = {
      "/v1/images/generations": "POST",
      "/v1/images/edits": "POST",
      "/v1/images/tasks/zimage-gateway-route-probe": "GET",
    };
    const { stub, client } = await stubClient((req, res) => {
      if (req.path === "/openapi.json") return sendText(res, 200, "text/html", "<html>docs disabled</html>");
      if (req.path === "/health") return sendJson(res, 200, { status: "ok", model_loaded: false });
      if (req.path === "/v1/models")
        return sendJson(res, 200, { data: [{ id: "turbo", capabilities: ["text-to-image"] }] });
      const method = routes[req.path];
      if (method === undefined) return sendJson(res, 404, { detail: "Not Found" });
      if (method !== req.method) return sendJson(res, 405, { detail: "Method Not Allowed" });
      // The task route's own answer for an id it never issued, which looks like a missing route.
      return sendJson(res, 404, { detail: "no such id" });
    });
    await expect(client.discover()).resolves.toEqual({
      routes_from: "probe",
      routes: ["POST /v1/images/generations", "POST /v1/images/edits", "GET /v1/images/tasks/{task_id}"],
      models: [{ id: "turbo", capabilities: ["text-to-image"] }],
      health_shape: "single",
      generate: "sync",
      // The route exists, but every model lists its capabilities and none does image-to-image.
      edit: null,
    });
    const posts = stub.requests.filter((r) => r.method === "POST").map((r) => r.path);
    // A 405 to the GET proved the POST routes; the GET route's 404 is settled by a POST's 405.
    expect(posts).toEqual(["/v1/images/async_edit", "/v1/images/tasks/zimage-gateway-route-probe"]);
  });

  it("takes the routes from an openapi.json with paths and sends no probes", async () => {
    const { stub, client } = await stubClient((req, res) => {
      if (req.path === "/openapi.json")
        return sendJson(res, 200, {
          openapi: "3.1.0",
          paths: {
            "/health": { get: {} },
            "/v1/images/generations": { post: {} },
            "/v1/images/async_edit": { post: {} },
            "/v1/images/tasks/{id}": { get: {}, parameters: [] },
          },
        });
      if (req.path === "/health") return sendJson(res, 200, { status: "ok" });
      return sendJson(res, 404, { detail: "Not Found" });
    });
    await expect(client.discover()).resolves.toEqual({
      routes_from: "openapi",
      routes: ["POST /v1/images/generations", "POST /v1/images/async_edit", "GET /v1/images/tasks/{task_id}"],
      models: [],
      health_shape: "unknown",
      generate: "sync",
      edit: "async",
    });
    expect(stub.requests.map((r) => r.path).sort()).toEqual(["/health", "/openapi.json", "/v1/models"]);
  });

  it("an upstream that cannot be reached is an error, not an upstream that offers nothing", async () => {
    client = new ZImageClient({ baseUrl: `http://127.0.0.1:${await freePort()}` });
    await expect(client.discover()).rejects.toBeInstanceOf(UpstreamConnectionError);
  });
});
