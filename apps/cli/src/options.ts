/**
 * Every option the CLI knows, with its help text. A command lists the ones it takes (commands.ts);
 * GLOBAL_OPTIONS apply to every command. The table is also the parseArgs configuration.
 */
export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  /** The value's placeholder in help (`--size WxH`); absent for a boolean. */
  arg?: string;
  help: string;
}

export const OPTIONS = {
  size: {
    type: "string",
    short: "s",
    arg: "WxH",
    help: "both sides divisible by 32 (generate default 1024x1024; edit: the input's, fitted to 128-2048)",
  },
  n: { type: "string", short: "n", arg: "N", help: "images, 1-4" },
  steps: { type: "string", arg: "N", help: "num_inference_steps, 1-100 (default 50)" },
  guidance: { type: "string", arg: "X", help: "guidance_scale, 0-20 (default 4.0, edits 1.5)" },
  negative: { type: "string", arg: "TEXT", help: "negative_prompt" },
  seed: { type: "string", arg: "N", help: "a fixed seed, for repeatable images" },
  priority: {
    type: "string",
    arg: "CLASS",
    help: "interactive (default; batch in a batch) or batch: interactive jobs run first",
  },
  "cancel-after": {
    type: "string",
    arg: "T",
    help: "deadline: seconds from now, or an ISO 8601 time; unfinished then, the job ends canceled (deadline_exceeded)",
  },
  output: {
    type: "string",
    short: "o",
    arg: "FILE",
    help: "where to save (default <job id>.png; with n > 1: FILE-1.png, FILE-2.png, ...); batch: the directory",
  },
  "no-wait": { type: "boolean", help: "print the job id and exit once it is queued" },
  status: {
    type: "string",
    arg: "S",
    help: "only jobs in this status: queued, running, succeeded, failed, canceled",
  },
  limit: { type: "string", arg: "N", help: "how many, 1-100 (default 20)" },
  all: { type: "boolean", help: "admins: every key's jobs, not only yours" },
  name: { type: "string", arg: "NAME", help: "same as the NAME argument of keys create" },
  role: { type: "string", arg: "admin|user", help: "the key's role (default user)" },
  rate: { type: "string", arg: "N", help: "requests per minute" },
  "max-pending": { type: "string", arg: "N", help: "queued and running jobs at once" },
  weight: { type: "string", arg: "X", help: "fair-share weight, 0.01-100 (2: two queue turns per one)" },
  "priority-classes": {
    type: "string",
    arg: "C,...",
    help: "the classes the key may submit: interactive,batch (default both); batch keeps it off interactive",
  },
  "gpu-day": { type: "string", arg: "S|none", help: "GPU-seconds budget per UTC day (none: unlimited)" },
  "gpu-month": { type: "string", arg: "S|none", help: "GPU-seconds budget per UTC month (none: unlimited)" },
  from: { type: "string", arg: "YYYY-MM-DD", help: "first UTC day (default: 29 days before --to)" },
  to: { type: "string", arg: "YYYY-MM-DD", help: "last UTC day, included (default: today)" },
  json: { type: "boolean", help: "machine-readable output on stdout (no progress line)" },
  url: {
    type: "string",
    arg: "URL",
    help: "gateway address (default $ZIMAGE_GATEWAY_URL, else http://127.0.0.1:8080)",
  },
  key: { type: "string", arg: "KEY", help: "API key (default $ZIMAGE_API_KEY)" },
  help: { type: "boolean", short: "h", help: "this help" },
} as const satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTIONS;
export const GLOBAL_OPTIONS = ["json", "url", "key", "help"] as const satisfies readonly OptionName[];

/** Parsed option values: a string or boolean by the option's type, absent when not given. */
export type Flags = {
  -readonly [K in OptionName]?: (typeof OPTIONS)[K]["type"] extends "boolean" ? boolean : string;
};

/** The parseArgs configuration for a set of options (their help text stays out of it). */
export function parseConfig(names: readonly OptionName[]) {
  return Object.fromEntries(
    names.map((name) => {
      const o: OptionSpec = OPTIONS[name];
      return [name, o.short ? { type: o.type, short: o.short } : { type: o.type }];
    }),
  ) as Record<string, { type: "string" | "boolean"; short?: string }>;
}

/** One help line: `  -s, --size WxH   both sides ...`. */
export function optionLine(name: OptionName): string {
  const o: OptionSpec = OPTIONS[name];
  const flag = `${o.short ? `-${o.short}, ` : "    "}--${name}${o.arg ? ` ${o.arg}` : ""}`;
  return `  ${flag.padEnd(26)}${o.help}`;
}
