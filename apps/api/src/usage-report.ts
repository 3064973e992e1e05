import {
  dayStart,
  GatewayError,
  getApiKey,
  readUsage,
  type UsageCounts,
  type UsageTable,
  utcDay,
} from "@zimage/core";
import type { Redis } from "ioredis";
import { z } from "zod";
import { isAdmin, type Principal } from "./principal";

/** The longest range one `GET /v1/usage` may ask for: a year and a day (one read per key and day). */
export const MAX_USAGE_DAYS = 366;
/** Without `from`: the last 30 days, today included. */
const DEFAULT_DAYS = 30;

const date = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date, YYYY-MM-DD (UTC)")
  .refine((d) => !Number.isNaN(dayStart(d)), "is not a real date");

export const usageQuerySchema = z.strictObject({
  key: z
    .string()
    .regex(/^(all|[a-z0-9]{1,64})$/, 'must be an API key id or "all"')
    .optional(),
  from: date.optional(),
  to: date.optional(),
});

/** Usage counts as the API shows them: GPU time in seconds (ms precision). */
export interface UsageFigures {
  jobs: number;
  images: number;
  gpu_seconds: number;
}

const figures = (c: UsageCounts): UsageFigures => ({
  jobs: c.jobs,
  images: c.images,
  gpu_seconds: c.gpu_ms / 1000,
});
const add = (into: UsageCounts, c: UsageCounts) => {
  into.jobs += c.jobs;
  into.images += c.images;
  into.gpu_ms += c.gpu_ms;
};
const zero = (): UsageCounts => ({ jobs: 0, images: 0, gpu_ms: 0 });

export interface UsageDay extends UsageFigures {
  date: string;
  upstreams: Record<string, UsageFigures>;
}

export interface UsageReport {
  object: "usage";
  from: string;
  to: string;
  key: string;
  totals: UsageFigures;
  days: UsageDay[];
  by_upstream: Record<string, UsageFigures>;
  /** Admin with key=all only: each key with usage in the range. */
  by_key?: Array<{ key: string; name: string | null } & UsageFigures>;
}

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join(".") || "query"} ${i.message}`).join("; ");
}

/**
 * `GET /v1/usage`: jobs, images and GPU seconds of a key by UTC day and by upstream. A user sees
 * their own key; an admin may name any key (`key=<id>`) or every key (`key=all`, with a per-key
 * breakdown). Days with no usage are left out of `days`.
 */
export async function usageReport(
  redis: Redis,
  prefix: string,
  principal: Principal,
  query: unknown,
  now = Date.now(),
): Promise<UsageReport> {
  const parsed = usageQuerySchema.safeParse(query);
  if (!parsed.success)
    throw new GatewayError("invalid_request", `invalid usage query: ${describe(parsed.error)}`);
  const q = parsed.data;
  const to = q.to ?? utcDay(now);
  const from = q.from ?? utcDay(dayStart(to) - (DEFAULT_DAYS - 1) * 86_400_000);
  const span = (dayStart(to) - dayStart(from)) / 86_400_000 + 1;
  if (span < 1) throw new GatewayError("invalid_request", `from (${from}) is after to (${to})`);
  if (span > MAX_USAGE_DAYS)
    throw new GatewayError("invalid_request", `the range is ${span} days; the most is ${MAX_USAGE_DAYS}`);
  const key = q.key ?? principal.id;
  // Another key's usage is an admin's business only; a user naming one learns nothing about it.
  if (key !== principal.id && !isAdmin(principal))
    throw new GatewayError("forbidden", "only an admin may read another key's usage");
  const table = await readUsage(redis, prefix, key === "all" ? "all" : [key], from, to);
  const report = build(table, { from, to, key });
  if (key === "all") report.by_key = await byKey(redis, prefix, table);
  return report;
}

function build(table: UsageTable, head: { from: string; to: string; key: string }): UsageReport {
  const totals = zero();
  const days = new Map<string, UsageCounts & { upstreams: Map<string, UsageCounts> }>();
  const upstreams = new Map<string, UsageCounts>();
  for (const perDay of table.values()) {
    for (const [date, usage] of perDay) {
      add(totals, usage);
      const day = days.get(date) ?? { ...zero(), upstreams: new Map() };
      days.set(date, day);
      add(day, usage);
      for (const [name, u] of Object.entries(usage.upstreams)) {
        const d = day.upstreams.get(name) ?? zero();
        day.upstreams.set(name, d);
        add(d, u);
        const all = upstreams.get(name) ?? zero();
        upstreams.set(name, all);
        add(all, u);
      }
    }
  }
  const perUpstream = (m: Map<string, UsageCounts>) =>
    Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)).map(([n, c]) => [n, figures(c)]));
  return {
    object: "usage",
    ...head,
    totals: figures(totals),
    days: [...days]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([date, d]) => ({ date, ...figures(d), upstreams: perUpstream(d.upstreams) })),
    by_upstream: perUpstream(upstreams),
  };
}

async function byKey(redis: Redis, prefix: string, table: UsageTable): Promise<UsageReport["by_key"]> {
  const rows = await Promise.all(
    [...table].map(async ([key, perDay]) => {
      const sum = zero();
      for (const usage of perDay.values()) add(sum, usage);
      const record = await getApiKey(redis, prefix, key);
      return { key, name: record?.name ?? null, ...figures(sum) };
    }),
  );
  return rows.sort((a, b) => b.gpu_seconds - a.gpu_seconds || a.key.localeCompare(b.key));
}
