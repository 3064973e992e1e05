import type { UpstreamParamRules } from "./store/upstream-state";

export interface UpstreamConfig {
  /** Short operator-chosen name used in logs, metrics and the job view (`upstream`). */
  name: string;
  /** Base URL of the Z-Image server, without a trailing slash. */
  url: string;
  /**
   * How each job kind is run, pinned by the operator (`;generate=sync|none`, `;edit=sync|async|none`);
   * `auto` (the default) takes what discovery finds.
   */
  pin: { generate: "auto" | "sync" | "none"; edit: "auto" | "sync" | "async" | "none" };
  /** Defaults and bounds for jobs this upstream runs (`;steps=8;steps_range=8-9;guidance=0`). */
  params: UpstreamParamRules;
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/i;

/** Parses `name=url,name=url` (a bare URL gets the name `default`). */
export function parseUpstreams(spec: string): UpstreamConfig[] {
  const entries = spec
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new Error("expected name=url[,name=url...]");
  const seen = new Set<string>();
  return entries.map((entry, i) => {
    const eq = entry.indexOf("=");
    const name =
      eq === -1 ? (entries.length === 1 ? "default" : `upstream${i + 1}`) : entry.slice(0, eq).trim();
    const rawUrl = eq === -1 ? entry : entry.slice(eq + 1).trim();
    if (!NAME.test(name)) throw new Error(`upstream name "${name}" must be 1-32 letters, digits, _ or -`);
    if (seen.has(name)) throw new Error(`upstream name "${name}" is used twice`);
    seen.add(name);
    let url: URL;
    try {
      url = new URL(rawUrl);
    } catch {
      throw new Error(`upstream "${name}" has an invalid URL "${rawUrl}"`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new Error(`upstream "${name}" URL must be http or https`);
    }
    return {
      name,
      url: url.toString().replace(/\/+$/, ""),
      pin: { generate: "auto", edit: "auto" },
      params: { defaults: {}, bounds: {} },
    };
  });
}
