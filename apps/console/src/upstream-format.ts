import type { UpstreamState } from "./types";

/** What the admin screen says about an upstream's issue #15 state, one short phrase per cell. */

type Kind = "generate" | "edit";

/** "sync (discovered)", "async (pinned)", "none (pinned)", or "not discovered yet". */
export function modeText(u: Pick<UpstreamState, "capabilities">, kind: Kind): string {
  const caps = u.capabilities;
  if (!caps) return "not discovered yet";
  return `${caps[kind] ?? "none"} (${caps.source[kind]})`;
}

const PIPELINES: Record<string, string> = {
  generate: "text-to-image",
  edit: "image-to-image",
  all: "all (one model)",
  none: "none",
};

export function pipelineText(loaded: UpstreamState["loaded_pipeline"]): string {
  return loaded === null ? "unknown" : (PIPELINES[loaded] ?? loaded);
}

const time = (iso: string) => new Date(iso).toLocaleTimeString(undefined, { timeStyle: "medium" });

/** "closed", "closed · 2 failures", "open until 10:42:07", "half-open (probe job)". */
export function breakerText(breaker: UpstreamState["breaker"]): string {
  if (!breaker) return "closed";
  if (breaker.state === "open") return breaker.retry_at ? `open until ${time(breaker.retry_at)}` : "open";
  if (breaker.state === "half_open") return "half-open (probe job)";
  const n = breaker.consecutive_failures;
  return n > 0 ? `closed · ${n} failure${n === 1 ? "" : "s"}` : "closed";
}

const part = (label: string, value: number | undefined, range: [number, number] | undefined) => {
  if (value === undefined && range === undefined) return null;
  const bounds = range ? (range[0] === range[1] ? `only ${range[0]}` : `${range[0]}–${range[1]}`) : null;
  return [label, value ?? null, bounds && (value === undefined ? bounds : `(${bounds})`)]
    .filter((p) => p !== null)
    .join(" ");
};

/** "steps 8 (8–9) · guidance 0 (only 0)", or "gateway defaults" when the operator set none. */
export function paramsText(params: UpstreamState["params"]): string {
  const parts = [
    part("steps", params?.defaults.num_inference_steps, params?.bounds.num_inference_steps),
    part("guidance", params?.defaults.guidance_scale, params?.bounds.guidance_scale),
  ].filter((p) => p !== null);
  return parts.length > 0 ? parts.join(" · ") : "gateway defaults";
}
