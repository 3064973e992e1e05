import type { ApiKeyRecord, KeyLimits, KeyRole } from "@zimage/core";

/** Who is calling: the API key behind the request (or the implicit local admin in open local mode). */
export interface Principal {
  id: string;
  name: string;
  role: KeyRole;
  limits: KeyLimits;
}

export const isAdmin = (p: Principal) => p.role === "admin";

/** The principal of a stored API key (its limits as they are now). */
export const principalOfKey = (record: ApiKeyRecord): Principal => ({
  id: record.id,
  name: record.name,
  role: record.role,
  limits: {
    rate_per_minute: record.rate_per_minute,
    max_pending: record.max_pending,
    priority_weight: record.priority_weight,
    ...(record.priority_classes ? { priority_classes: record.priority_classes } : {}),
    gpu_seconds_per_day: record.gpu_seconds_per_day ?? null,
    gpu_seconds_per_month: record.gpu_seconds_per_month ?? null,
  },
});
