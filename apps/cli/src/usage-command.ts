import type { Usage, ZImageGateway } from "@zimage/sdk";
import { EXIT, UsageError } from "./exit-codes";

export interface UsageFlags {
  from?: string | undefined;
  to?: string | undefined;
  json?: boolean | undefined;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const num = (n: number) => String(n);
const gpu = (s: number) => s.toFixed(1);

/** The report as a table: one line per day with its upstreams, totals, then (key all) per key. */
export function usageText(u: Usage): string {
  const lines = [
    `usage of ${u.key === "all" ? "all keys" : `key ${u.key}`}, ${u.from} to ${u.to} (UTC days)`,
  ];
  lines.push(
    [
      "DATE".padEnd(10),
      "JOBS".padStart(7),
      "IMAGES".padStart(7),
      "GPU SECONDS".padStart(12),
      "  UPSTREAMS",
    ].join(" "),
  );
  for (const d of u.days) {
    const ups = Object.entries(d.upstreams)
      .map(([name, f]) => `${name}=${gpu(f.gpu_seconds)}s`)
      .join(" ");
    lines.push(
      [
        d.date,
        num(d.jobs).padStart(7),
        num(d.images).padStart(7),
        gpu(d.gpu_seconds).padStart(12),
        ` ${ups}`,
      ].join(" "),
    );
  }
  const t = u.totals;
  lines.push(
    [
      "total".padEnd(10),
      num(t.jobs).padStart(7),
      num(t.images).padStart(7),
      gpu(t.gpu_seconds).padStart(12),
    ].join(" "),
  );
  for (const k of u.by_key ?? [])
    lines.push(
      `key ${k.key} ${k.name ?? ""}: ${k.jobs} jobs, ${k.images} images, ${gpu(k.gpu_seconds)} GPU seconds`,
    );
  return `${lines.join("\n")}\n`;
}

/** `zimage usage [ID|all] [--from YYYY-MM-DD] [--to YYYY-MM-DD]`: GPU usage, yours or (admin) a key's or all. */
export async function usageCommand(
  client: ZImageGateway,
  args: string[],
  flags: UsageFlags,
): Promise<number> {
  const [key, extra] = args;
  if (extra !== undefined)
    throw new UsageError("usage: zimage usage [ID|all] [--from YYYY-MM-DD] [--to YYYY-MM-DD]");
  for (const [name, v] of [
    ["from", flags.from],
    ["to", flags.to],
  ] as const)
    if (v !== undefined && !DATE.test(v)) throw new UsageError(`--${name} must be a date, YYYY-MM-DD (UTC)`);
  const report = await client.usage({
    ...(key ? { key } : {}),
    ...(flags.from ? { from: flags.from } : {}),
    ...(flags.to ? { to: flags.to } : {}),
  });
  process.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : usageText(report));
  return EXIT.ok;
}
