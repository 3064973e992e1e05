/**
 * The calendar of GPU usage and budgets: days and months are UTC, whatever the server's or the
 * user's time zone, so a day's usage and a budget's reset time are the same for every reader.
 */
export type UsagePeriod = "day" | "month";

const pad = (n: number) => String(n).padStart(2, "0");

/** `YYYY-MM-DD` of the UTC day holding `ms`. */
export function utcDay(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** `YYYY-MM` of the UTC month holding `ms`. */
export function utcMonth(ms: number): string {
  return utcDay(ms).slice(0, 7);
}

/** When the period holding `ms` ends: the next UTC midnight, or the first of next month at 00:00 UTC. */
export function periodEnd(period: UsagePeriod, ms: number): number {
  const d = new Date(ms);
  return period === "day"
    ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)
    : Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** Epoch ms of a `YYYY-MM-DD` day's start (UTC); NaN when it is not a real date. */
export function dayStart(day: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return Number.NaN;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return utcDay(ms) === day ? ms : Number.NaN;
}

/** The days from `from` to `to`, both included (`YYYY-MM-DD`, from ≤ to). */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let ms = dayStart(from), end = dayStart(to); ms <= end; ms += 86_400_000) days.push(utcDay(ms));
  return days;
}
