import {
  type DefaultableParam,
  GatewayError,
  type JobData,
  type JobKind,
  type UpstreamState,
} from "@zimage/core";

const KIND_NAME: Record<JobKind, string> = { generate: "text-to-image", edit: "image-to-image" };
const BOUNDED: DefaultableParam[] = ["num_inference_steps", "guidance_scale"];

/** An upstream that can run `kind`, or may once discovered (not discovered yet counts as able). */
const mayRun = (u: UpstreamState, kind: JobKind) => u.capabilities === null || u.capabilities[kind] !== null;

/**
 * Refuses at submit a job that no upstream could ever run, rather than queueing one that fails later
 * (issue #15): `409 capability_unavailable` when every registered upstream has been discovered and
 * none runs the job's kind, and `422 param_out_of_range` when a value the submitter gave is outside
 * the bounds of every upstream able to run it (only when all of those declare bounds for it: one
 * without bounds takes any value). With no upstream registered yet, or one not yet discovered, the job
 * is accepted and waits. Values within some upstream's bounds are accepted; a dispatcher whose
 * upstream has narrower bounds clamps them, and the job view's `effective_params` says so.
 */
export function checkAdmission(
  registered: UpstreamState[],
  data: Pick<JobData, "kind" | "params" | "defaulted">,
): void {
  // Only upstreams a worker serves count: a name left in the registry by an upstream since removed
  // from ZIMAGE_UPSTREAMS (its holder let go) must neither admit nor refuse anything.
  const upstreams = registered.filter((u) => u.owner !== null);
  if (upstreams.length === 0) return;
  const capable = upstreams.filter((u) => mayRun(u, data.kind));
  if (capable.length === 0) {
    throw new GatewayError(
      "capability_unavailable",
      `no upstream offers ${data.kind} (${KIND_NAME[data.kind]}) jobs: every upstream was discovered, and none can run them`,
      { kind: data.kind, upstreams: upstreams.map((u) => u.name) },
    );
  }
  const params = data.params as Partial<Record<DefaultableParam, number>>;
  for (const param of BOUNDED) {
    const value = params[param];
    // A field the submitter left out gets the upstream's default at dispatch: never refused.
    if (value === undefined || data.defaulted?.includes(param)) continue;
    const allowed = capable.map((u) => ({ upstream: u.name, range: u.params?.bounds[param] }));
    if (allowed.some((a) => a.range === undefined)) continue;
    if (allowed.some(({ range }) => value >= range![0] && value <= range![1])) continue;
    const ranges = allowed.map(({ upstream, range }) => `${range![0]}-${range![1]} (${upstream})`);
    throw new GatewayError(
      "param_out_of_range",
      `${param} ${value} is outside what the upstreams allow: ${ranges.join(", ")}; send a value in range, or leave it out for the upstream's default`,
      {
        param,
        value,
        allowed: allowed.map(({ upstream, range }) => ({ upstream, min: range![0], max: range![1] })),
      },
    );
  }
}
