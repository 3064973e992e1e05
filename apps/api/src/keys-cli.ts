/**
 * `pnpm keys <command>`: manage API keys directly in Redis (works before any admin key exists).
 *   create --name NAME [--role user|admin] [--rate N] [--max-pending N] [--weight N] [--priority-classes C,…] [--gpu-day S] [--gpu-month S]
 *   list
 *   revoke ID
 *   set-limits ID [--rate N] [--max-pending N] [--weight N] [--priority-classes C,…] [--gpu-day S|none] [--gpu-month S|none]
 * Add --json for machine-readable output. Exit codes: 0 ok, 1 failure, 2 usage error.
 */
import { parseArgs } from "node:util";
import {
  type ApiKeyRecord,
  createApiKey,
  createRedis,
  listApiKeys,
  loadConfigOrExit,
  PRIORITY_CLASSES,
  type PriorityClass,
  revokeApiKey,
  setApiKeyLimits,
} from "@zimage/core";

const USAGE = `usage: pnpm keys create --name NAME [--role user|admin] [--rate N] [--max-pending N] [--weight N]
                        [--priority-classes C,...] [--gpu-day S] [--gpu-month S]
       pnpm keys list
       pnpm keys revoke ID
       pnpm keys set-limits ID [--rate N] [--max-pending N] [--weight N] [--priority-classes C,...]
                        [--gpu-day S|none] [--gpu-month S|none]
options: --json        print JSON
         --priority-classes interactive,batch   the classes the key may submit (default both; "batch" keeps it off interactive)
         --gpu-day S   GPU-seconds budget per UTC day (none: unlimited, the default)
         --gpu-month S GPU-seconds budget per UTC month (none: unlimited, the default)`;

function usage(message?: string): never {
  if (message) process.stderr.write(`${message}\n`);
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}

let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    allowPositionals: true,
    options: {
      name: { type: "string" },
      role: { type: "string" },
      rate: { type: "string" },
      "max-pending": { type: "string" },
      weight: { type: "string" },
      "priority-classes": { type: "string" },
      "gpu-day": { type: "string" },
      "gpu-month": { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
}
try {
  parsed = parse();
} catch (err) {
  usage((err as Error).message);
}
const { values, positionals } = parsed;
if (values.help) usage();

function positiveInt(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    usage(`--${flag} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}
/** The fair-share weight: 0.01 to 100, fractions allowed (0.25: one queue turn per four). */
function positiveNumber(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0.01 || n > 100)
    usage(`--${flag} must be a number from 0.01 to 100, got ${JSON.stringify(raw)}`);
  return n;
}
/** The priority classes a key may submit (issue #19), comma-separated. */
function priorityClasses(raw: string | undefined): PriorityClass[] | undefined {
  if (raw === undefined) return undefined;
  const classes = raw.split(",").map((c) => c.trim());
  if (classes.length === 0 || classes.some((c) => !(PRIORITY_CLASSES as readonly string[]).includes(c)))
    usage(`--priority-classes must list ${PRIORITY_CLASSES.join(" and/or ")}, got ${JSON.stringify(raw)}`);
  return classes as PriorityClass[];
}

/** A GPU-seconds budget: a positive number, or `none` (unlimited). */
function budget(flag: string, raw: string | undefined): number | null | undefined {
  if (raw === undefined) return undefined;
  if (raw === "none") return null;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > 366 * 86_400)
    usage(`--${flag} must be a number of GPU seconds above 0, or none, got ${JSON.stringify(raw)}`);
  return n;
}
const limits = {
  rate_per_minute: positiveInt("rate", values.rate),
  max_pending: positiveInt("max-pending", values["max-pending"]),
  priority_weight: positiveNumber("weight", values.weight),
  priority_classes: priorityClasses(values["priority-classes"]),
  gpu_seconds_per_day: budget("gpu-day", values["gpu-day"]),
  gpu_seconds_per_month: budget("gpu-month", values["gpu-month"]),
};
const gpu = (v: number | null | undefined) => (v == null ? "none" : `${v}s`);

function show(records: ApiKeyRecord[]) {
  if (values.json) return process.stdout.write(`${JSON.stringify(records, null, 2)}\n`);
  for (const r of records) {
    process.stdout.write(
      `${r.id}  ${r.prefix}…  ${r.role.padEnd(5)}  ${r.revoked_at ? "revoked" : "active "}  rate=${r.rate_per_minute}/min  max_pending=${r.max_pending}  weight=${r.priority_weight}  classes=${(r.priority_classes ?? PRIORITY_CLASSES).join(",")}  gpu_day=${gpu(r.gpu_seconds_per_day)}  gpu_month=${gpu(r.gpu_seconds_per_month)}  ${r.name}\n`,
    );
  }
}

const config = loadConfigOrExit();
const redis = createRedis(config.redis, "client", { lazyConnect: true });
// Only keeps ioredis from printing an "Unhandled error event" per reconnect attempt: the same failure
// rejects the command below and is printed by its catch, with exit code 1.
redis.on("error", () => {});
const [command, id] = positionals;
try {
  await redis.connect();
  switch (command) {
    case "create": {
      if (!values.name) usage("create needs --name");
      const role = values.role ?? "user";
      if (role !== "user" && role !== "admin") usage("--role must be user or admin");
      const { key, record } = await createApiKey(redis, config.QUEUE_PREFIX, {
        name: values.name,
        role,
        rate_per_minute: limits.rate_per_minute ?? config.DEFAULT_RATE_PER_MINUTE,
        max_pending: limits.max_pending ?? config.DEFAULT_MAX_PENDING,
        priority_weight: limits.priority_weight ?? 1,
        ...(limits.priority_classes ? { priority_classes: limits.priority_classes } : {}),
        gpu_seconds_per_day: limits.gpu_seconds_per_day ?? null,
        gpu_seconds_per_month: limits.gpu_seconds_per_month ?? null,
      });
      if (values.json) process.stdout.write(`${JSON.stringify({ ...record, key }, null, 2)}\n`);
      else
        process.stdout.write(
          `${key}\n\nkey ${record.id} (${record.role}) created for "${record.name}". It is shown only this once.\n`,
        );
      break;
    }
    case "list":
      show(await listApiKeys(redis, config.QUEUE_PREFIX));
      break;
    case "revoke": {
      if (!id) usage("revoke needs an ID");
      const record = await revokeApiKey(redis, config.QUEUE_PREFIX, id);
      if (!record) throw new Error(`no API key with id ${id}`);
      show([record]);
      break;
    }
    case "set-limits": {
      if (!id) usage("set-limits needs an ID");
      const record = await setApiKeyLimits(redis, config.QUEUE_PREFIX, id, limits);
      if (!record) throw new Error(`no API key with id ${id}`);
      show([record]);
      break;
    }
    default:
      usage(command ? `unknown command ${command}` : undefined);
  }
} catch (err) {
  process.stderr.write(`error: ${(err as Error).message}\n`);
  process.exitCode = 1;
} finally {
  redis.disconnect();
}
