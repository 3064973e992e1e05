import type { HttpAnswer } from "./http-call";
import { isJsonType } from "./json-body";
import { isRecord } from "./parse-images-response";
import type { DiscoveredCapabilities, HealthShape, ModelInfo } from "./types";

/** The routes that decide how each job kind runs (issue #15). */
export const IMAGE_ROUTES = {
  generations: "POST /v1/images/generations",
  edits: "POST /v1/images/edits",
  asyncEdit: "POST /v1/images/async_edit",
  task: "GET /v1/images/tasks/{task_id}",
} as const;

// A task id no server issued: the reference server answers it 200 "failed", without GPU work.
const PROBE_TASK_ID = "zimage-gateway-route-probe";
const HTTP_METHODS = ["get", "post", "put", "patch", "delete"];

/** What discovery needs from the client: one control call, and the parsed models and health. */
export interface DiscoveryOps {
  call(method: "GET" | "POST", path: string, jsonBody?: string): Promise<HttpAnswer>;
  models(): Promise<ModelInfo[]>;
  healthShape(): Promise<HealthShape>;
}

/**
 * Learns what an upstream offers without making it do GPU work: its routes from FastAPI's own
 * `/openapi.json` when served, else by probing each route; its models; its `/health` shape. Then
 * picks a mode per job kind. Connection failures propagate: an upstream that is down is not
 * "discovered" as offering nothing.
 */
export async function discoverCapabilities(ops: DiscoveryOps): Promise<DiscoveredCapabilities> {
  const fromOpenApi = await openApiRoutes(ops);
  const routes = fromOpenApi ?? (await probedRoutes(ops));
  const models = await ops.models();
  const health_shape = await ops.healthShape();
  return {
    routes_from: fromOpenApi ? "openapi" : "probe",
    routes,
    models,
    health_shape,
    ...modes(routes, models),
  };
}

/** Mode choice: sync routes first; a model list with capabilities for every model can rule a kind out. */
export function modes(
  routes: string[],
  models: ModelInfo[],
): Pick<DiscoveredCapabilities, "generate" | "edit"> {
  const has = (route: string) => routes.includes(route);
  let generate: DiscoveredCapabilities["generate"] = has(IMAGE_ROUTES.generations) ? "sync" : null;
  let edit: DiscoveredCapabilities["edit"] = has(IMAGE_ROUTES.edits)
    ? "sync"
    : has(IMAGE_ROUTES.asyncEdit) && has(IMAGE_ROUTES.task)
      ? "async"
      : null;
  const listed = models.length > 0 && models.every((m) => m.capabilities !== null);
  if (listed) {
    const offers = (cap: string) => models.some((m) => m.capabilities!.some((c) => c.toLowerCase() === cap));
    if (!offers("text-to-image")) generate = null;
    if (!offers("image-to-image")) edit = null;
  }
  return { generate, edit };
}

/** The image routes of the server's OpenAPI document; null when it serves none (then we probe). */
async function openApiRoutes(ops: DiscoveryOps): Promise<string[] | null> {
  const answer = await ops.call("GET", "openapi.json");
  if (answer.status < 200 || answer.status >= 300 || !isJsonType(answer.contentType)) return null;
  let doc: unknown;
  try {
    doc = JSON.parse(answer.body.toString("utf8"));
  } catch {
    return null;
  }
  if (!isRecord(doc) || !isRecord(doc.paths)) return null;
  const routes: string[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    if (!path.startsWith("/v1/images/") || !isRecord(item)) continue;
    // Path parameters are named by each server; one spelling keeps route lists comparable.
    const normalised = path.replace(/^\/v1\/images\/tasks\/\{[^}]+\}$/, "/v1/images/tasks/{task_id}");
    for (const method of HTTP_METHODS)
      if (item[method] !== undefined) routes.push(`${method.toUpperCase()} ${normalised}`);
  }
  return routes;
}

async function probedRoutes(ops: DiscoveryOps): Promise<string[]> {
  const found: string[] = [];
  for (const route of Object.values(IMAGE_ROUTES)) {
    const [method, path] = route.split(" ") as ["GET" | "POST", string];
    const concrete = path.replace("{task_id}", PROBE_TASK_ID).slice(1);
    if (await probe(ops, method, concrete)) found.push(route);
  }
  return found;
}

/**
 * Whether a route exists, without a request that could start an image: a GET answers 404 only when
 * nothing is routed there (FastAPI answers 405 for a known path and another method). Express
 * answers 404 for a wrong method too, so a 404 is checked with a POST of `{}`, which a real image
 * route refuses as invalid (4xx) before any GPU work. 405 there means the path exists for other
 * methods: present if the route is a GET, absent if it is the POST we looked for.
 */
async function probe(ops: DiscoveryOps, method: "GET" | "POST", path: string): Promise<boolean> {
  const get = await ops.call("GET", path);
  if (get.status !== 404) return true;
  // A task route may answer our made-up id with a 404 of its own: that is the route talking.
  if (method === "GET" && /task not found/i.test(get.body.toString("utf8"))) return true;
  const post = await ops.call("POST", path, "{}");
  if (post.status === 404) return false;
  if (post.status === 405) return method === "GET";
  return true;
}
