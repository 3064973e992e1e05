/** Prints `value` as one JSON line with --json, else the human text. */
export const print = (json: boolean | undefined, value: unknown, text: () => string) =>
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : text());

/** Rows as aligned columns, two spaces apart (a header is the first row). */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map(
      (r) =>
        `${r
          .map((cell, c) => cell.padEnd(widths[c]!))
          .join("  ")
          .trimEnd()}\n`,
    )
    .join("");
}
