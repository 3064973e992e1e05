/**
 * Model ids out of `GET /v1/models`, whose exact shape the Z-Image API leaves open: the OpenAI list
 * `{data: [{id}]}`, a bare array, or `{models: [...]}` of ids or objects. Anything else gives none.
 */
export function modelIds(body: unknown): string[] {
  const list = Array.isArray(body)
    ? body
    : typeof body === "object" && body !== null
      ? ((body as { data?: unknown }).data ?? (body as { models?: unknown }).models)
      : undefined;
  if (!Array.isArray(list)) return [];
  const ids = list
    .map((m) => (typeof m === "string" ? m : (m as { id?: unknown } | null)?.id))
    .filter((id): id is string => typeof id === "string" && id.length > 0 && id.length <= 200);
  return [...new Set(ids)];
}
