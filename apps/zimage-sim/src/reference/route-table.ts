/**
 * The routes the reference server really has (Z-Image/vision_server.py in mostafaspace/ai-hub,
 * restated in shared/zimage-api.md). One list serves `/openapi.json` and the 404/405 answers.
 */
export const referenceRoutes = [
  { method: "get", path: "/outputs/{filename}", summary: "Get Output File" },
  { method: "get", path: "/health", summary: "Health" },
  { method: "get", path: "/v1/models", summary: "List Models" },
  { method: "get", path: "/v1/internal/status", summary: "Internal Status" },
  { method: "post", path: "/v1/internal/unload", summary: "Manual Unload Endpoint" },
  { method: "get", path: "/v1/internal/unload", summary: "Manual Unload Endpoint" },
  { method: "post", path: "/v1/images/async_generate", summary: "Async Generate" },
  { method: "post", path: "/v1/images/async_edit", summary: "Async Edit" },
  { method: "get", path: "/v1/images/tasks/{task_id}", summary: "Get Task Status" },
  { method: "get", path: "/v1/images/generations", summary: "Get Generations Status" },
  { method: "post", path: "/v1/images/generations", summary: "Generate Image Sync" },
] as const;

/** FastAPI's generated document, reduced to what a client probes: which paths and methods exist. */
export function openApiDocument(): { openapi: string; info: object; paths: Record<string, object> } {
  const paths: Record<string, Record<string, object>> = {};
  for (const r of referenceRoutes) {
    const operationId = `${r.summary.toLowerCase().replaceAll(" ", "_")}_${r.path.replace(/[^a-z0-9]+/gi, "_").replace(/^_/, "")}_${r.method}`;
    const item = paths[r.path] ?? {};
    item[r.method] = {
      summary: r.summary,
      operationId,
      responses: { "200": { description: "Successful Response" } },
    };
    paths[r.path] = item;
  }
  return { openapi: "3.1.0", info: { title: "Antigravity Vision Service", version: "0.1.0" }, paths };
}

const matchers = referenceRoutes.map((r) => ({
  method: r.method.toUpperCase(),
  re: new RegExp(`^${r.path.replace(/\{[^}]+\}/g, "[^/]+")}$`),
}));

/** The methods a path accepts (empty when the path is unknown), for Starlette's 404 vs 405. */
export function allowedMethods(path: string): string[] {
  return matchers.filter((m) => m.re.test(path)).map((m) => m.method);
}
