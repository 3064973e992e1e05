import { parseArgs } from "node:util";
import { ZImageApiError, ZImageGateway } from "@zimage/sdk";
import { runBatch } from "./batch-command";
import { listDeadLetters, redeliver, showDeliveries } from "./delivery-commands";
import { EXIT, UsageError } from "./exit-codes";
import { runJob } from "./job-commands";
import { cancelJob, keysCommand, listJobs, showJob } from "./list-commands";
import { USAGE } from "./usage";
import { usageCommand } from "./usage-command";

const OPTIONS = {
  size: { type: "string", short: "s" },
  n: { type: "string", short: "n" },
  steps: { type: "string" },
  guidance: { type: "string" },
  negative: { type: "string" },
  seed: { type: "string" },
  priority: { type: "string" },
  "cancel-after": { type: "string" },
  "priority-classes": { type: "string" },
  output: { type: "string", short: "o" },
  "no-wait": { type: "boolean" },
  status: { type: "string" },
  limit: { type: "string" },
  role: { type: "string" },
  rate: { type: "string" },
  "max-pending": { type: "string" },
  weight: { type: "string" },
  "gpu-day": { type: "string" },
  "gpu-month": { type: "string" },
  from: { type: "string" },
  to: { type: "string" },
  json: { type: "boolean" },
  url: { type: "string" },
  key: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Runs one command line; returns the exit code. Errors go to stderr (and stdout with --json). */
export async function main(argv: string[]): Promise<number> {
  let json = false;
  try {
    const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
    json = values.json === true;
    const [command, ...rest] = positionals;
    if (values.help || !command) {
      if (values.help) {
        process.stdout.write(USAGE);
        return EXIT.ok;
      }
      process.stderr.write(USAGE);
      return EXIT.usage;
    }
    const client = new ZImageGateway({
      ...(values.url ? { baseUrl: values.url } : {}),
      ...(values.key ? { apiKey: values.key } : {}),
    });
    switch (command) {
      case "generate":
      case "edit":
        return await runJob(client, command, rest, values);
      case "batch":
        return await runBatch(client, rest, values);
      case "jobs":
        return await listJobs(client, values);
      case "show":
        return await showJob(client, rest[0], json);
      case "cancel":
        return await cancelJob(client, rest[0], json);
      case "deliveries":
        return await showDeliveries(client, rest[0], json);
      case "redeliver":
        return await redeliver(client, rest, json);
      case "dead-letters":
        return await listDeadLetters(client, values);
      case "keys":
        return await keysCommand(client, rest, values);
      case "usage":
        return await usageCommand(client, rest, values);
      default:
        throw new UsageError(`unknown command "${command}"; see zimage --help`);
    }
  } catch (err) {
    const [code, message, exit] = classify(err);
    if (json) process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
    process.stderr.write(`zimage: ${message}\n`);
    return exit;
  }
}

function classify(err: unknown): [string, string, number] {
  if (err instanceof UsageError) return ["usage", err.message, EXIT.usage];
  // parseArgs reports unknown options and missing values with these codes.
  const nodeCode = (err as { code?: string }).code;
  if (nodeCode?.startsWith("ERR_PARSE_ARGS")) return ["usage", (err as Error).message, EXIT.usage];
  if (err instanceof ZImageApiError) {
    return [err.code, err.message, err.status < 500 ? EXIT.refused : EXIT.unavailable];
  }
  return ["unavailable", (err as Error).message ?? String(err), EXIT.unavailable];
}

// Run as a script (`node --import tsx apps/cli/src/main.ts`, `pnpm zimage`); bin/zimage.mjs calls main itself.
if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
}
