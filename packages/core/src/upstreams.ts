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
/** An entry without `name=` is a bare URL (its query may hold `=`, so the scheme decides). */
const BARE_URL = /^[a-z][a-z0-9+.-]*:\/\//i;
/** The same limits as a job request's fields (job-request.ts), so a default is always a valid job value. */
const STEPS = { min: 1, max: 100 };
const GUIDANCE = { min: 0, max: 20 };

const OPTIONS = ["generate", "edit", "steps", "steps_range", "guidance", "guidance_range"] as const;
type Option = (typeof OPTIONS)[number];

/**
 * A URL as it may be shown in logs and admin views: without the user and password it may carry
 * (`http://user:secret@gpu0:8003` → `http://gpu0:8003`). Unparseable input is not shown at all.
 */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString().replace(/\/+$/, "");
  } catch {
    return "(invalid URL)";
  }
}

/**
 * Parses `ZIMAGE_UPSTREAMS`: `name=url[;option=value...][,name=url...]` (a bare URL gets the name
 * `default`). Options: `generate=auto|sync|none`, `edit=auto|sync|async|none`, `steps=N`,
 * `steps_range=MIN-MAX`, `guidance=X`, `guidance_range=MIN-MAX`. Errors name the upstream and the
 * option, and never repeat a URL: it may carry credentials.
 */
export function parseUpstreams(spec: string): UpstreamConfig[] {
  const entries = spec
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new Error("expected name=url[;option=value...][,name=url...]");
  const seen = new Set<string>();
  return entries.map((entry, i) => {
    const [head = "", ...options] = entry.split(";").map((s) => s.trim());
    const bare = BARE_URL.test(head);
    const eq = head.indexOf("=");
    const name =
      bare || eq === -1 ? (entries.length === 1 ? "default" : `upstream${i + 1}`) : head.slice(0, eq).trim();
    if (!bare && eq === -1) throw new Error(`upstream ${i + 1}: expected name=url`);
    if (!NAME.test(name)) {
      // Echoed only when it cannot be part of a URL (a mistyped entry could hold credentials).
      const shown = /^[\w .-]{1,40}$/.test(name) ? `"${name}"` : `${i + 1}`;
      throw new Error(`upstream ${shown}: the name must be 1-32 letters, digits, _ or -`);
    }
    if (seen.has(name)) throw new Error(`upstream name "${name}" is used twice`);
    seen.add(name);
    const url = parseUrl(name, bare ? head : head.slice(eq + 1).trim());
    return { name, url, ...parseOptions(name, options) };
  });
}

function parseUrl(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`upstream "${name}" has an invalid URL (expected http://host:port or https://…)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`upstream "${name}" URL must be http or https`);
  }
  return url.toString().replace(/\/+$/, "");
}

function parseOptions(name: string, options: string[]): Pick<UpstreamConfig, "pin" | "params"> {
  const pin: UpstreamConfig["pin"] = { generate: "auto", edit: "auto" };
  const params: UpstreamParamRules = { defaults: {}, bounds: {} };
  const given = new Set<Option>();
  for (const option of options) {
    if (option === "") continue; // a trailing `;`
    const eq = option.indexOf("=");
    const key = (eq === -1 ? option : option.slice(0, eq)).trim();
    const value = eq === -1 ? "" : option.slice(eq + 1).trim();
    const fail = (expected: string) =>
      new Error(`upstream "${name}" option "${key}": expected ${expected}, got "${value}"`);
    if (!(OPTIONS as readonly string[]).includes(key)) {
      throw new Error(`upstream "${name}": unknown option "${key}" (options: ${OPTIONS.join(", ")})`);
    }
    const opt = key as Option;
    if (given.has(opt)) throw new Error(`upstream "${name}" option "${key}" is given twice`);
    given.add(opt);
    switch (opt) {
      case "generate":
        if (value !== "auto" && value !== "sync" && value !== "none") throw fail("auto, sync or none");
        pin.generate = value;
        break;
      case "edit":
        if (value !== "auto" && value !== "sync" && value !== "async" && value !== "none")
          throw fail("auto, sync, async or none");
        pin.edit = value;
        break;
      case "steps":
        params.defaults.num_inference_steps =
          number(value, STEPS, true) ?? throwIt(fail(`an integer ${STEPS.min}-${STEPS.max}`));
        break;
      case "guidance":
        params.defaults.guidance_scale =
          number(value, GUIDANCE, false) ?? throwIt(fail(`a number ${GUIDANCE.min}-${GUIDANCE.max}`));
        break;
      case "steps_range":
        params.bounds.num_inference_steps =
          range(value, STEPS, true) ??
          throwIt(fail(`MIN-MAX, integers ${STEPS.min}-${STEPS.max}, MIN ≤ MAX`));
        break;
      case "guidance_range":
        params.bounds.guidance_scale =
          range(value, GUIDANCE, false) ??
          throwIt(fail(`MIN-MAX, numbers ${GUIDANCE.min}-${GUIDANCE.max}, MIN ≤ MAX`));
        break;
    }
  }
  checkDefaultInRange(name, "steps", params.defaults.num_inference_steps, params.bounds.num_inference_steps);
  checkDefaultInRange(name, "guidance", params.defaults.guidance_scale, params.bounds.guidance_scale);
  return { pin, params };
}

function throwIt(err: Error): never {
  throw err;
}

function number(raw: string, limits: { min: number; max: number }, integer: boolean): number | null {
  if (!/^\d+(\.\d+)?$/.test(raw)) return null;
  const n = Number(raw);
  if (integer && !Number.isInteger(n)) return null;
  return n >= limits.min && n <= limits.max ? n : null;
}

function range(raw: string, limits: { min: number; max: number }, integer: boolean): [number, number] | null {
  const m = /^([^-]+)-([^-]+)$/.exec(raw);
  if (!m) return null;
  const lo = number(m[1]!.trim(), limits, integer);
  const hi = number(m[2]!.trim(), limits, integer);
  return lo !== null && hi !== null && lo <= hi ? [lo, hi] : null;
}

function checkDefaultInRange(
  name: string,
  option: "steps" | "guidance",
  value: number | undefined,
  bounds: [number, number] | undefined,
): void {
  if (value === undefined || bounds === undefined) return;
  if (value < bounds[0] || value > bounds[1]) {
    throw new Error(
      `upstream "${name}" option "${option}": the default ${value} is outside ${option}_range ${bounds[0]}-${bounds[1]}`,
    );
  }
}
