/** The one output of `pnpm start`: every part's lines, tagged with the part's name. */
export const colors = { redis: 31, sim: 35, api: 36, worker: 33, start: 32, console: 34 } as const;
export type Part = keyof typeof colors;

const tty = process.stdout.isTTY === true;
let outputGone = false;

// A closed terminal (or a closed pipe) makes writes fail with EIO/EPIPE, emitted as an 'error' event
// that would otherwise crash start.ts in the middle of stopping the parts in order. There is no one
// left to read the lines, so dropping them is safe; the stop goes on.
process.stdout.on("error", () => {
  outputGone = true;
});

export function say(part: Part, line: string): void {
  if (outputGone) return;
  const tag = tty ? `\x1b[${colors[part]}m${part.padEnd(6)}\x1b[0m` : part.padEnd(6);
  process.stdout.write(`${tag} | ${line}\n`);
}

/** Pretty logs for a person at a terminal, JSON lines otherwise, unless LOG_PRETTY says. */
export const prettyLogs = tty;
