import type { ApiKey, Job, JobStatus, PriorityClass, ZImageGateway } from "@zimage/sdk";
import { EXIT, UsageError } from "./exit-codes";
import { print, table } from "./output";

const prompt = (job: Job) => {
  const p = String(job.params.prompt ?? "").replace(/\s+/g, " ");
  return p.length > 48 ? `${p.slice(0, 47)}…` : p;
};

const jobLine = (j: Job) => [j.id, j.kind, j.status, j.created_at.slice(0, 19).replace("T", " "), prompt(j)];

export async function listJobs(
  client: ZImageGateway,
  flags: {
    status?: string | undefined;
    limit?: string | undefined;
    all?: boolean | undefined;
    json?: boolean | undefined;
  },
): Promise<number> {
  const limit = flags.limit === undefined ? 20 : Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new UsageError("--limit must be 1-100");
  // Your own jobs even as an admin (whose default on the API is everyone's); --all asks for everyone's.
  const page = await client.list({
    limit,
    owner: flags.all ? "all" : "me",
    ...(flags.status ? { status: flags.status as JobStatus } : {}),
  });
  print(flags.json, page, () =>
    page.data.length === 0
      ? "no jobs\n"
      : table([["ID", "KIND", "STATUS", "CREATED", "PROMPT"], ...page.data.map(jobLine)]),
  );
  return EXIT.ok;
}

export async function showJob(
  client: ZImageGateway,
  id: string | undefined,
  json?: boolean,
): Promise<number> {
  if (!id) throw new UsageError("usage: zimage show ID");
  const job = await client.get(id);
  print(json, job, () => `${JSON.stringify(job, null, 2)}\n`);
  return EXIT.ok;
}

export async function cancelJob(
  client: ZImageGateway,
  id: string | undefined,
  json?: boolean,
): Promise<number> {
  if (!id) throw new UsageError("usage: zimage cancel ID");
  const job = await client.cancel(id);
  print(json, job, () => `${job.id} ${job.status}\n`);
  return EXIT.ok;
}

export interface KeyFlags {
  name?: string | undefined;
  role?: string | undefined;
  rate?: string | undefined;
  "max-pending"?: string | undefined;
  weight?: string | undefined;
  "priority-classes"?: string | undefined;
  "gpu-day"?: string | undefined;
  "gpu-month"?: string | undefined;
  json?: boolean | undefined;
}

/** A GPU-seconds budget flag: a number above 0, or `none` (unlimited). */
function budget(flag: string, v: string | undefined): number | null | undefined {
  if (v === undefined) return undefined;
  if (v === "none") return null;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${flag} must be GPU seconds above 0, or none`);
  return n;
}

function limits(f: KeyFlags) {
  const out: {
    rate_per_minute?: number;
    max_pending?: number;
    priority_weight?: number;
    priority_classes?: PriorityClass[];
    gpu_seconds_per_day?: number | null;
    gpu_seconds_per_month?: number | null;
  } = {};
  const int = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new UsageError(`--${flag} must be a whole number`);
    return Number(v);
  };
  const rate = int("rate", f.rate);
  const pending = int("max-pending", f["max-pending"]);
  // The server checks the range (0.01 to 100); a weight may be a fraction (0.25: one turn per four).
  const weight = f.weight === undefined ? undefined : Number(f.weight);
  if (weight !== undefined && !Number.isFinite(weight)) throw new UsageError("--weight must be a number");
  if (rate !== undefined) out.rate_per_minute = rate;
  if (pending !== undefined) out.max_pending = pending;
  if (weight !== undefined) out.priority_weight = weight;
  const classes = f["priority-classes"]?.split(",").map((c) => c.trim());
  if (classes?.some((c) => c !== "interactive" && c !== "batch"))
    throw new UsageError(
      "--priority-classes must list interactive and/or batch, e.g. --priority-classes batch",
    );
  if (classes) out.priority_classes = classes as PriorityClass[];
  const day = budget("gpu-day", f["gpu-day"]);
  const month = budget("gpu-month", f["gpu-month"]);
  if (day !== undefined) out.gpu_seconds_per_day = day;
  if (month !== undefined) out.gpu_seconds_per_month = month;
  return out;
}

const KEY_HEADER = [
  "ID",
  "NAME",
  "ROLE",
  "PREFIX",
  "STATE",
  "RATE/MIN",
  "MAX PENDING",
  "WEIGHT",
  "CLASSES",
  "GPU/DAY",
  "GPU/MONTH",
];

const keyLine = (k: ApiKey) => [
  k.id,
  k.name,
  k.role,
  k.prefix,
  k.revoked_at ? "revoked" : "active",
  String(k.rate_per_minute),
  String(k.max_pending),
  String(k.priority_weight),
  (k.priority_classes ?? ["interactive", "batch"]).join(","),
  k.gpu_seconds_per_day == null ? "-" : `${k.gpu_seconds_per_day}s`,
  k.gpu_seconds_per_month == null ? "-" : `${k.gpu_seconds_per_month}s`,
];

export async function keysCommand(client: ZImageGateway, args: string[], flags: KeyFlags): Promise<number> {
  const [action, arg] = args;
  switch (action) {
    case "create": {
      // `keys create NAME`, or `keys create --name NAME` as `pnpm keys` has always taken it: one syntax for both CLIs.
      if (arg !== undefined && flags.name !== undefined && arg !== flags.name)
        throw new UsageError(`two names given ("${arg}" and --name "${flags.name}"); give one`);
      const name = arg ?? flags.name;
      if (!name) throw new UsageError("usage: zimage keys create NAME [--role admin|user] [limits]");
      if (flags.role !== undefined && flags.role !== "admin" && flags.role !== "user")
        throw new UsageError("--role must be admin or user");
      const role = flags.role as "admin" | "user" | undefined;
      const created = await client.keys.create({ name, ...(role ? { role } : {}), ...limits(flags) });
      print(flags.json, created, () => `${created.key}\n(shown once: store it now; id ${created.id})\n`);
      return EXIT.ok;
    }
    case "list": {
      const keys = await client.keys.list();
      print(flags.json, keys, () => table([KEY_HEADER, ...keys.map(keyLine)]));
      return EXIT.ok;
    }
    case "revoke": {
      if (!arg) throw new UsageError("usage: zimage keys revoke ID");
      const key = await client.keys.revoke(arg);
      print(flags.json, key, () => `${key.id} revoked\n`);
      return EXIT.ok;
    }
    case "set-limits": {
      if (!arg)
        throw new UsageError("usage: zimage keys set-limits ID [--rate N] [--max-pending N] [--weight N]");
      const patch = limits(flags);
      if (Object.keys(patch).length === 0)
        throw new UsageError(
          "give at least one of --rate, --max-pending, --weight, --priority-classes, --gpu-day, --gpu-month",
        );
      const key = await client.keys.setLimits(arg, patch);
      print(flags.json, key, () => table([KEY_HEADER, keyLine(key)]));
      return EXIT.ok;
    }
    default:
      throw new UsageError("usage: zimage keys create|list|revoke|set-limits ...");
  }
}
