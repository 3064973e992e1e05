/**
 * `pnpm keys <command>`: manage API keys directly in Redis (works before any admin key exists).
 * The same syntax as `zimage keys` (apps/cli), which does the same through the HTTP API:
 *   create NAME [--role user|admin] [limits]   (or --name NAME)
 *   list
 *   revoke ID
 *   set-limits ID [limits]
 * where the limits are --rate N --max-pending N --weight X --priority-classes C,… --gpu-day S --gpu-month S.
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

const USAGE = `pnpm keys: manage API keys directly in Redis (the same REDIS_URL and QUEUE_PREFIX as the gateway)

Usage:
  pnpm keys create NAME [--role admin|user] [--rate N] [--max-pending N] [--weight X]
                        [--priority-classes C,...] [--gpu-day S] [--gpu-month S]
  pnpm keys list
  pnpm keys revoke ID
  pnpm keys set-limits ID [--rate N] [--max-pending N] [--weight X] [--priority-classes C,...]
                          [--gpu-day S|none] [--gpu-month S|none]

Options:
      --role admin|user     the key's role (default user)
      --rate N              requests per minute (default $DEFAULT_RATE_PER_MINUTE)
      --max-pending N       queued and running jobs at once (default $DEFAULT_MAX_PENDING)
      --weight X            fair-share weight, 0.01-100 (default 1)
      --priority-classes C,...  the classes the key may submit: interactive,batch (default both;
                            batch keeps it off interactive)
      --gpu-day S|none      GPU-seconds budget per UTC day (none: unlimited, the default)
      --gpu-month S|none    GPU-seconds budget per UTC month (none: unlimited, the default)
      --name NAME           same as the NAME argument of create
      --json                print JSON
  -h, --help                this help

Examples:
  pnpm keys create alice --rate 30 --max-pending 10
  pnpm keys set-limits k7x2m9qa --priority-classes batch --gpu-day 3600
  pnpm keys create ops --role admin
  pnpm keys revoke k7x2m9qa

Without a global pnpm: npx -y pnpm@10 keys ... (the same as zimage keys, which goes through the API).
`;

function usage(message: string): never {
  process.stderr.write(`pnpm keys: ${message}; see pnpm keys --help\n`);
  process.exit(2);
}

const OPTIONS = {
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
} as const;

/**
 * Unknown options are reported here, not by parseArgs: Node's message for them ends in an unbalanced
 * quote (`as in '-- "--bogus"`). The wording matches `zimage`'s.
 */
function parse() {
  const { tokens } = parseArgs({ options: OPTIONS, allowPositionals: true, strict: false, tokens: true });
  for (const token of tokens) {
    if (token.kind === "option" && !(token.name in OPTIONS)) usage(`unknown option ${token.rawName}`);
  }
  try {
    return parseArgs({ options: OPTIONS, allowPositionals: true });
  } catch (err) {
    return usage((err as Error).message);
  }
}
const { values, positionals } = parse();
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

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
const [command, id] = positionals;
if (command === undefined) {
  process.stderr.write(USAGE);
  process.exit(2);
}
if (!["create", "list", "revoke", "set-limits"].includes(command)) usage(`unknown command "${command}"`);
// `create NAME`, or `create --name NAME`: the same syntax as `zimage keys create`.
if (command === "create" && id !== undefined && values.name !== undefined && id !== values.name)
  usage(`two names given ("${id}" and --name "${values.name}"); give one`);
const name = command === "create" ? (id ?? values.name) : undefined;
if (command === "create" && !name) usage("create needs a NAME");
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
try {
  await redis.connect();
  switch (command) {
    case "create": {
      const role = values.role ?? "user";
      if (role !== "user" && role !== "admin") usage("--role must be user or admin");
      const { key, record } = await createApiKey(redis, config.QUEUE_PREFIX, {
        name: name!,
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
  }
} catch (err) {
  process.stderr.write(`pnpm keys: ${(err as Error).message}\n`);
  process.exitCode = 1;
} finally {
  redis.disconnect();
}
