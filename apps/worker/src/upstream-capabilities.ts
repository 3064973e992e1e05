import type { UpstreamCapabilities, UpstreamConfig } from "@zimage/core";
import type { DiscoveredCapabilities } from "@zimage/zimage-client";

const AUTO: UpstreamConfig["pin"] = { generate: "auto", edit: "auto" };

/**
 * The operator's pins win over discovery (ZIMAGE_UPSTREAMS `;edit=async`, `;generate=none`): a
 * server behind a proxy that hides `/openapi.json` and answers probes oddly can still be run the
 * right way, and a kind can be kept off a GPU on purpose.
 */
export function applyPins(
  found: DiscoveredCapabilities,
  pin: UpstreamConfig["pin"] = AUTO,
  at: Date,
): UpstreamCapabilities {
  // Typed as core's record, so the client's discovery result and the stored shape cannot drift.
  const generate = pin.generate === "auto" ? found.generate : pin.generate === "none" ? null : pin.generate;
  const edit = pin.edit === "auto" ? found.edit : pin.edit === "none" ? null : pin.edit;
  return {
    ...found,
    generate,
    edit,
    source: {
      generate: pin.generate === "auto" ? "discovered" : "pinned",
      edit: pin.edit === "auto" ? "discovered" : "pinned",
    },
    discovered_at: at.toISOString(),
  };
}
