import { COMMANDS, type Command } from "./commands";
import { GLOBAL_OPTIONS, optionLine } from "./options";

const EXIT_CODES = `Exit codes: 0 done; 1 the job failed or was canceled; 2 bad arguments; 3 the gateway refused the
request (invalid input, auth, limits, not found); 4 the gateway is unreachable or failed.
`;

const globalOptions = () => `Options for every command:\n${GLOBAL_OPTIONS.map(optionLine).join("\n")}\n`;

/** `zimage --help`: every command in one line each. */
export function globalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return `zimage: Z-Image Gateway from the command line

Usage: zimage COMMAND [arguments] [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join("\n")}

${globalOptions()}
Run "zimage COMMAND --help" for a command's arguments, options and examples.

${EXIT_CODES}`;
}

/** `zimage NAME --help`: the command's usage, its own options, the global ones, examples. */
export function commandHelp(command: Command): string {
  const own = command.options.length > 0 ? `Options:\n${command.options.map(optionLine).join("\n")}\n\n` : "";
  return `zimage ${command.name}: ${command.summary}

Usage:
${command.usage.map((u) => `  zimage ${u}`).join("\n")}

${own}${globalOptions()}
Example${command.examples.length > 1 ? "s" : ""}:
${command.examples.map((e) => `  ${e}`).join("\n")}
`;
}
