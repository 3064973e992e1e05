import type { ZImageGateway } from "@zimage/sdk";
import { runBatch } from "./batch-command";
import { listDeadLetters, redeliver, showDeliveries } from "./delivery-commands";
import { runJob } from "./job-commands";
import { cancelJob, keysCommand, listJobs, showJob } from "./list-commands";
import type { Flags, OptionName } from "./options";
import { usageCommand } from "./usage-command";

export interface CommandContext {
  client: ZImageGateway;
  /** The positional arguments after the command's name. */
  args: string[];
  flags: Flags;
}

/**
 * One CLI command. Adding a command is adding one entry to COMMANDS: the global help lists its
 * summary, `zimage NAME --help` prints its usage, options and examples, and the parser refuses any
 * option not in `options` (the global ones, --json --url --key --help, always apply).
 */
export interface Command {
  name: string;
  /** One line for the global help's command list. */
  summary: string;
  /** Usage lines without the leading `zimage `. */
  usage: string[];
  options: readonly OptionName[];
  examples: string[];
  run(ctx: CommandContext): Promise<number>;
}

const JOB_OPTIONS = [
  "size",
  "n",
  "steps",
  "guidance",
  "negative",
  "seed",
  "priority",
  "cancel-after",
  "output",
  "no-wait",
] as const;
const KEY_LIMITS = ["rate", "max-pending", "weight", "priority-classes", "gpu-day", "gpu-month"] as const;

export const COMMANDS: readonly Command[] = [
  {
    name: "generate",
    summary: "text-to-image; waits and saves the PNG(s)",
    usage: ['generate "PROMPT" [options]'],
    options: JOB_OPTIONS,
    examples: ['zimage generate "a paper crane on a desk" --size 1024x768 -o crane.png'],
    run: ({ client, args, flags }) => runJob(client, "generate", args, flags),
  },
  {
    name: "edit",
    summary: "image-to-image from a PNG or JPEG file; waits and saves the PNG(s)",
    usage: ['edit IMAGE "PROMPT" [options]'],
    options: JOB_OPTIONS,
    examples: ['zimage edit crane.png "the same crane, at night" -o night.png'],
    run: ({ client, args, flags }) => runJob(client, "edit", args, flags),
  },
  {
    name: "batch",
    summary: "a batch from a file (JSONL job requests, or one prompt a line); progress bar, resumable",
    usage: ["batch FILE [job options as defaults for every job] [-o DIR]"],
    options: JOB_OPTIONS,
    examples: [
      "zimage batch prompts.txt --size 768x768 -o out/",
      "zimage batch jobs.jsonl --cancel-after 3600   # re-run the same line to resume the downloads",
    ],
    run: ({ client, args, flags }) => runBatch(client, args, flags),
  },
  {
    name: "jobs",
    summary: "your jobs, newest first (admins: --all for every key's)",
    usage: ["jobs [--status S] [--limit N] [--all]"],
    options: ["status", "limit", "all"],
    examples: ["zimage jobs --status running", "zimage jobs --limit 5 --json"],
    run: ({ client, flags }) => listJobs(client, flags),
  },
  {
    name: "show",
    summary: "one job, as JSON",
    usage: ["show ID"],
    options: [],
    examples: ["zimage show 01K2ZJ6V8Q3N4W5X6Y7Z8A9B0C"],
    run: ({ client, args, flags }) => showJob(client, args[0], flags.json),
  },
  {
    name: "cancel",
    summary: "cancel a queued or running job",
    usage: ["cancel ID"],
    options: [],
    examples: ["zimage cancel 01K2ZJ6V8Q3N4W5X6Y7Z8A9B0C"],
    run: ({ client, args, flags }) => cancelJob(client, args[0], flags.json),
  },
  {
    name: "deliveries",
    summary: "a job's webhook delivery attempts",
    usage: ["deliveries ID"],
    options: [],
    examples: ["zimage deliveries 01K2ZJ6V8Q3N4W5X6Y7Z8A9B0C"],
    run: ({ client, args, flags }) => showDeliveries(client, args[0], flags.json),
  },
  {
    name: "redeliver",
    summary: "send a finished webhook delivery again, with the same webhook-id",
    usage: ["redeliver ID EVENT"],
    options: [],
    examples: ["zimage redeliver 01K2ZJ6V8Q3N4W5X6Y7Z8A9B0C succeeded"],
    run: ({ client, args, flags }) => redeliver(client, args, flags.json),
  },
  {
    name: "dead-letters",
    summary: "webhook deliveries that ended unaccepted (admins)",
    usage: ["dead-letters [--limit N]"],
    options: ["limit"],
    examples: ["zimage dead-letters --limit 50"],
    run: ({ client, flags }) => listDeadLetters(client, flags),
  },
  {
    name: "keys",
    summary: "API keys (admins): create, list, revoke, set-limits",
    usage: [
      "keys create NAME [--role admin|user] [--rate N] [--max-pending N] [--weight X]",
      "                 [--priority-classes C,...] [--gpu-day S] [--gpu-month S]",
      "keys list",
      "keys revoke ID",
      "keys set-limits ID [--rate N] [--max-pending N] [--weight X] [--priority-classes C,...]",
      "                   [--gpu-day S|none] [--gpu-month S|none]",
    ],
    options: ["role", ...KEY_LIMITS, "name"],
    examples: ["zimage keys create alice --rate 30 --max-pending 10", "zimage keys revoke k7x2m9qa"],
    run: ({ client, args, flags }) => keysCommand(client, args, flags),
  },
  {
    name: "usage",
    summary: "GPU usage by UTC day and upstream: yours, or (admins) a key's or all keys'",
    usage: ["usage [ID|all] [--from YYYY-MM-DD] [--to YYYY-MM-DD]"],
    options: ["from", "to"],
    examples: ["zimage usage all --from 2026-11-01 --json", "zimage usage"],
    run: ({ client, args, flags }) => usageCommand(client, args, flags),
  },
];

export const findCommand = (name: string | undefined): Command | undefined =>
  COMMANDS.find((c) => c.name === name);
