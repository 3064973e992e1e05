/** Every series the gateway exports starts with this (docs/metrics.md lists them all). */
export const METRIC_PREFIX = "zimage_gateway_";
