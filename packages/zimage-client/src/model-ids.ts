import type { ModelInfo } from "./types";

/**
 * Models out of `GET /v1/models`, whose exact shape the Z-Image API leaves open: the OpenAI list
 * `{data: [{id}]}`, a bare array, or `{models: [...]}` of ids or objects. Anything else gives none.
 * `capabilities` is kept only as a list of strings (the reference server's `["text-to-image"]`);
 * other shapes (the documented server's object of flags) read as not listed.
 */
export function modelInfos(body: unknown): ModelInfo[] {
  const list = Array.isArray(body)
    ? body
    : typeof body === "object" && body !== null
      ? ((body as { data?: unknown }).data ?? (body as { models?: unknown }).models)
      : undefined;
  if (!Array.isArray(list)) return [];
  const seen = new Set<string>();
  const models: ModelInfo[] = [];
  for (const entry of list) {
    const id = typeof entry === "string" ? entry : (entry as { id?: unknown } | null)?.id;
    if (typeof id !== "string" || id.length === 0 || id.length > 200 || seen.has(id)) continue;
    seen.add(id);
    models.push({ id, capabilities: capabilities(entry) });
  }
  return models;
}

/** Model ids only (see {@link modelInfos}). */
export function modelIds(body: unknown): string[] {
  return modelInfos(body).map((m) => m.id);
}

function capabilities(entry: unknown): string[] | null {
  if (typeof entry !== "object" || entry === null) return null;
  const caps = (entry as { capabilities?: unknown }).capabilities;
  if (!Array.isArray(caps) || !caps.every((c) => typeof c === "string")) return null;
  return caps.slice(0, 50).map((c) => c.slice(0, 100));
}
