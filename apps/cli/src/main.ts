import { parseArgs } from "node:util";
import { ZImageApiError, ZImageGateway } from "@zimage/sdk";
import { type Command, findCommand } from "./commands";
import { EXIT, UsageError } from "./exit-codes";
import { commandHelp, globalHelp } from "./help";
import { type Flags, GLOBAL_OPTIONS, OPTIONS, type OptionName, parseConfig } from "./options";

const ALL_OPTIONS = Object.keys(OPTIONS) as OptionName[];

interface Parsed {
  command: Command | undefined;
  /** The first positional, whether or not it names a command. */
  name: string | undefined;
  args: string[];
  flags: Flags;
}

/**
 * Finds the command first (a loose pass knowing every option, so `-s 512x512` is not taken for a
 * command), then parses strictly with that command's options. An unknown option is reported here,
 * not by parseArgs: Node's message for it ends in an unbalanced quote (`as in '-- "--bogus"`).
 */
function parse(argv: string[]): Parsed {
  const loose = parseArgs({
    args: argv,
    options: parseConfig(ALL_OPTIONS),
    allowPositionals: true,
    strict: false,
  });
  const [name] = loose.positionals;
  const command = findCommand(name);
  if (loose.values.help === true) return { command, name, args: [], flags: { help: true } };
  const names: OptionName[] = [...(command?.options ?? []), ...GLOBAL_OPTIONS];
  const config = parseConfig(names);
  const { tokens } = parseArgs({
    args: argv,
    options: config,
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  for (const token of tokens) {
    if (token.kind === "option" && !(names as string[]).includes(token.name))
      throw new UsageError(
        `unknown option ${token.rawName}; see zimage ${command ? `${command.name} ` : ""}--help`,
      );
  }
  const { values, positionals } = parseArgs({ args: argv, options: config, allowPositionals: true });
  return { command, name, args: positionals.slice(1), flags: values as Flags };
}

/** Runs one command line; returns the exit code. Errors go to stderr (and stdout with --json). */
export async function main(argv: string[]): Promise<number> {
  let json = false;
  try {
    const { command, name, args, flags } = parse(argv);
    json = flags.json === true;
    // `zimage help [COMMAND]` is `zimage [COMMAND] --help`.
    if (name === "help" && !command) return help(args[0] ? known(args[0]) : undefined);
    if (flags.help) return help(name === undefined ? undefined : known(name));
    if (name === undefined) {
      process.stderr.write(globalHelp());
      return EXIT.usage;
    }
    const client = new ZImageGateway({
      ...(flags.url ? { baseUrl: flags.url } : {}),
      ...(flags.key ? { apiKey: flags.key } : {}),
    });
    return await known(name).run({ client, args, flags });
  } catch (err) {
    const [code, message, exit] = classify(err);
    if (json) process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
    process.stderr.write(`zimage: ${message}\n`);
    return exit;
  }
}

function known(name: string): Command {
  const command = findCommand(name);
  if (!command) throw new UsageError(`unknown command "${name}"; see zimage --help`);
  return command;
}

function help(command: Command | undefined): number {
  process.stdout.write(command ? commandHelp(command) : globalHelp());
  return EXIT.ok;
}

function classify(err: unknown): [string, string, number] {
  if (err instanceof UsageError) return ["usage", err.message, EXIT.usage];
  // parseArgs reports missing values ("Option '-s, --size <value>' argument missing") with these codes.
  const nodeCode = (err as { code?: string }).code;
  if (nodeCode?.startsWith("ERR_PARSE_ARGS")) return ["usage", (err as Error).message, EXIT.usage];
  if (err instanceof ZImageApiError) {
    return [err.code, err.message, err.status < 500 ? EXIT.refused : EXIT.unavailable];
  }
  return ["unavailable", (err as Error).message ?? String(err), EXIT.unavailable];
}

// Run as a script (`node --import tsx apps/cli/src/main.ts`); bin/zimage.mjs calls main itself.
if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
}
