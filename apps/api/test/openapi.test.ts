import { Validator } from "@seriousme/openapi-schema-validator";
import type { Express } from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openapiDocument } from "../src/openapi/document";
import { startTestApi, type TestApi } from "./helpers";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await api?.close();
});

interface Layer {
  name?: string;
  rawPath?: string;
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every "METHOD /path" the Express app routes, with `:id` written as OpenAPI's `{id}`. */
function expressRoutes(app: Express): string[] {
  const out = new Set<string>();
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const [method, on] of Object.entries(layer.route.methods)) {
          if (on && method !== "_all")
            out.add(`${method.toUpperCase()} ${prefix}${layer.route.path}`.replace(/:(\w+)/g, "{$1}"));
        }
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack, prefix + (layer.rawPath && layer.rawPath !== "/" ? layer.rawPath : ""));
      } else if (layer.name === "app" && layer.rawPath) {
        // A mounted sub-app: bull-board, whose own UI routes live below its entry point.
        out.add(`GET ${prefix}${layer.rawPath}`);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, "");
  return [...out].sort();
}

function documentedRoutes(): string[] {
  return Object.entries(openapiDocument.paths)
    .flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
}

describe("OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const result = await new Validator().validate(openapiDocument as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("lists every Express route, and nothing that is not routed", () => {
    expect(expressRoutes(api.app)).toEqual(documentedRoutes());
  });

  it("is served at /openapi.json and rendered at /docs without external resources", async () => {
    const doc = await fetch(`${api.url}/openapi.json`);
    expect(doc.status).toBe(200);
    expect(((await doc.json()) as { openapi: string }).openapi).toBe("3.1.0");
    const page = await fetch(`${api.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toMatch(/default-src 'self'/);
    const html = await page.text();
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    for (const asset of ["/docs/docs.js", "/docs/docs.css"]) {
      const res = await fetch(`${api.url}${asset}`);
      expect(res.status).toBe(200);
      expect(await res.text()).not.toMatch(/https?:\/\//);
    }
  });
});
