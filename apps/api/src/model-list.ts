import type { UpstreamParamRules, UpstreamState } from "@zimage/core";

/** Shown by `GET /v1/models` until a dispatcher has read the upstreams' own list. */
export const DEFAULT_MODEL = "z-image-turbo";

/** One entry of `GET /v1/models`: OpenAI's model object (id, object, created, owned_by) plus ours. */
export interface ModelEntry {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
  upstreams: string[];
  /** As the upstreams' `/v1/models` list them (`text-to-image`, `image-to-image`); null when none says. */
  capabilities: string[] | null;
  /** Per upstream serving the model: the operator's defaults and bounds (ZIMAGE_UPSTREAMS options). */
  params: Array<{ upstream: string } & UpstreamParamRules>;
}

const NO_RULES: UpstreamParamRules = { defaults: {}, bounds: {} };

/**
 * The models the upstreams serve, each with the upstreams serving it, its capabilities where an
 * upstream listed them, and each of those upstreams' parameter defaults and bounds. Extra fields do
 * not disturb OpenAI's `models.list()`, which reads only its own.
 */
export function listModels(upstreams: UpstreamState[]): ModelEntry[] {
  const served = new Map<string, { upstreams: UpstreamState[]; capabilities: Set<string> | null }>();
  const entry = (id: string) => {
    const known = served.get(id);
    if (known) return known;
    const e = { upstreams: [] as UpstreamState[], capabilities: null as Set<string> | null };
    served.set(id, e);
    return e;
  };
  for (const u of upstreams) {
    const ids = new Set([...(u.models ?? []), ...(u.capabilities?.models.map((m) => m.id) ?? [])]);
    for (const id of ids) entry(id).upstreams.push(u);
    for (const m of u.capabilities?.models ?? []) {
      if (!m.capabilities) continue;
      const e = entry(m.id);
      e.capabilities ??= new Set();
      for (const c of m.capabilities) e.capabilities.add(c);
    }
  }
  if (served.size === 0) served.set(DEFAULT_MODEL, { upstreams, capabilities: null });
  return [...served].map(([id, e]) => ({
    id,
    object: "model",
    created: 0,
    owned_by: "zimage-gateway",
    upstreams: e.upstreams.map((u) => u.name),
    capabilities: e.capabilities ? [...e.capabilities].sort() : null,
    params: e.upstreams.map((u) => ({ upstream: u.name, ...(u.params ?? NO_RULES) })),
  }));
}
