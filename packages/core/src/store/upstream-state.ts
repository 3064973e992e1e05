import type { Redis } from "ioredis";
import type { JobKind } from "../job-request";

/**
 * How an upstream runs each job kind: `sync` holds one request until the image is done
 * (`/v1/images/generations`, `/v1/images/edits`); `async` submits a task and polls it
 * (`/v1/images/async_edit` + `/v1/images/tasks/{id}`, the reference server's only edit path);
 * null: it cannot run that kind.
 */
export interface UpstreamModes {
  generate: "sync" | null;
  edit: "sync" | "async" | null;
}

/** What an upstream was found to offer (issue #15: discovered on every reconnect, or pinned). */
export interface UpstreamCapabilities extends UpstreamModes {
  /** Where each mode came from: discovery, or the operator's pin in ZIMAGE_UPSTREAMS. */
  source: { generate: "discovered" | "pinned"; edit: "discovered" | "pinned" };
  /** How the routes were learned: the server's own `/openapi.json`, or probing each route. */
  routes_from: "openapi" | "probe";
  /** The image routes found, as `METHOD /path`. */
  routes: string[];
  /** `GET /v1/models` entries; `capabilities` is null when the server does not list them. */
  models: Array<{ id: string; capabilities: string[] | null }>;
  /** `/health` reports one model (`model_loaded`), one flag per pipeline, or neither. */
  health_shape: "single" | "pipelines" | "unknown";
  discovered_at: string;
}

/**
 * Which pipeline is in VRAM: `all` for a single-model server whose model serves every kind,
 * `none` when nothing is loaded, null when the server does not say.
 */
export type LoadedPipeline = JobKind | "all" | "none";

export interface CircuitBreakerState {
  state: "closed" | "open" | "half_open";
  consecutive_failures: number;
  opened_at: string | null;
  /** When an open breaker lets one probe job through (half-open). */
  retry_at: string | null;
}

/** Per-upstream parameter defaults and bounds set by the operator in ZIMAGE_UPSTREAMS. */
export interface UpstreamParamRules {
  defaults: { num_inference_steps?: number; guidance_scale?: number };
  bounds: { num_inference_steps?: [number, number]; guidance_scale?: [number, number] };
}

/**
 * What the cluster knows about each upstream, written by the dispatcher that holds its lease and read
 * by the api (`GET /v1/upstreams`) and by other dispatchers (to prefer an upstream whose model is
 * loaded). One small hash per upstream plus a set of names.
 */
export interface UpstreamState {
  name: string;
  url: string | null;
  up: boolean | null;
  model_loaded: boolean | null;
  busy: boolean;
  current_job: string | null;
  owner: string | null;
  /** The fencing term of the holder's lease (bumped on every acquire; see UpstreamLease). */
  lease_term: number | null;
  jobs_done: number;
  last_job_at: string | null;
  last_unload_at: string | null;
  unloads: number;
  last_error: string | null;
  checked_at: string | null;
  /** Model ids from the upstream's `GET /v1/models`, read when it comes up; null until known. */
  models: string[] | null;
  /** Null until the holder has discovered the upstream (after it first answers). */
  capabilities: UpstreamCapabilities | null;
  loaded_pipeline: LoadedPipeline | null;
  breaker: CircuitBreakerState | null;
  params: UpstreamParamRules | null;
}

const namesKey = (prefix: string) => `${prefix}:upstreams`;
const stateKey = (prefix: string, name: string) => `${prefix}:upstream:${name}:state`;

type Patch = Partial<Omit<UpstreamState, "name" | "jobs_done" | "unloads">>;

function encode(patch: Patch): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(patch))
    out[k] = v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
  return out;
}

export async function registerUpstream(
  redis: Redis,
  prefix: string,
  name: string,
  url: string,
): Promise<void> {
  await redis.multi().sadd(namesKey(prefix), name).hset(stateKey(prefix, name), "url", url).exec();
}

export async function updateUpstreamState(
  redis: Redis,
  prefix: string,
  name: string,
  patch: Patch,
): Promise<void> {
  await redis.hset(stateKey(prefix, name), encode(patch));
}

export async function countUpstreamEvent(
  redis: Redis,
  prefix: string,
  name: string,
  field: "jobs_done" | "unloads",
): Promise<void> {
  await redis.hincrby(stateKey(prefix, name), field, 1);
}

const bool = (v: string | undefined) => (v === "true" ? true : v === "false" ? false : null);
const str = (v: string | undefined) => (v ? v : null);

export async function readUpstreamStates(redis: Redis, prefix: string): Promise<UpstreamState[]> {
  const names = (await redis.smembers(namesKey(prefix))).sort();
  if (names.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const name of names) pipeline.hgetall(stateKey(prefix, name));
  const rows = (await pipeline.exec()) ?? [];
  return names.map((name, i) => {
    const h = (rows[i]?.[1] ?? {}) as Record<string, string>;
    return {
      name,
      url: str(h.url),
      up: bool(h.up),
      model_loaded: bool(h.model_loaded),
      busy: h.busy === "true",
      current_job: str(h.current_job),
      owner: str(h.owner),
      lease_term: h.lease_term ? Number(h.lease_term) : null,
      jobs_done: Number(h.jobs_done) || 0,
      last_job_at: str(h.last_job_at),
      last_unload_at: str(h.last_unload_at),
      unloads: Number(h.unloads) || 0,
      last_error: str(h.last_error),
      checked_at: str(h.checked_at),
      models: modelList(h.models),
      capabilities: jsonField<UpstreamCapabilities>(h.capabilities),
      loaded_pipeline: (str(h.loaded_pipeline) as LoadedPipeline | null) ?? null,
      breaker: jsonField<CircuitBreakerState>(h.breaker),
      params: jsonField<UpstreamParamRules>(h.params),
    };
  });
}

function modelList(v: string | undefined): string[] | null {
  if (!v) return null;
  try {
    const parsed: unknown = JSON.parse(v);
    return Array.isArray(parsed) ? parsed.filter((m): m is string => typeof m === "string") : null;
  } catch {
    // Unreadable model list: shown as unknown (null), like one never probed; the next probe rewrites it.
    return null;
  }
}

/** A JSON-valued field; unreadable reads as unknown (null), and the holder's next write repairs it. */
function jsonField<T>(v: string | undefined): T | null {
  if (!v) return null;
  try {
    const parsed: unknown = JSON.parse(v);
    return parsed !== null && typeof parsed === "object" ? (parsed as T) : null;
  } catch {
    return null;
  }
}
