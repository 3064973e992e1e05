import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { machine } from "./machine";

/**
 * `doc` with `section` (which starts with `heading`) in place: replacing an earlier section under the
 * same heading up to the next `## ` heading, else inserted before the findings section, else appended.
 */
export function placeSectionUnder(doc: string, heading: string, section: string): string {
  const body = `${section.trimEnd()}\n`;
  const start = doc.indexOf(heading);
  if (start >= 0) {
    const next = doc.indexOf("\n## ", start + heading.length);
    return `${doc.slice(0, start)}${body}${next >= 0 ? `\n${doc.slice(next + 1)}` : ""}`;
  }
  const findings = doc.indexOf("\n## Findings");
  if (findings >= 0) return `${doc.slice(0, findings + 1)}${body}\n${doc.slice(findings + 1)}`;
  return `${doc.trimEnd()}\n\n${body}`;
}

/** The section under `heading` in `doc`, up to the next `## ` heading; undefined when there is none. */
export function sectionUnder(doc: string, heading: string): string | undefined {
  const start = doc.indexOf(heading);
  if (start < 0) return undefined;
  const next = doc.indexOf("\n## ", start + heading.length);
  return doc.slice(start, next >= 0 ? next + 1 : undefined).trimEnd();
}

const root = resolve(import.meta.dirname, "../../..");

/**
 * A scenario run alone (`pnpm bench <name> [--into FILE]`): its section with the command, date, time
 * and machine, written to .data/bench/<name>.md and, with `--into`, put in place in that report.
 */
export async function writeScenarioSection(opts: {
  name: string;
  heading: string;
  argv: string[];
  seconds: number;
  body: string;
  log: (msg: string) => void;
}): Promise<void> {
  const into = opts.argv[opts.argv.indexOf("--into") + 1];
  const flags = opts.argv.filter((_, i) => opts.argv[i] !== "--into" && opts.argv[i - 1] !== "--into");
  const section = `${opts.heading}

Produced by \`npx -y pnpm@10 bench ${[opts.name, ...flags].join(" ")}\` on ${new Date().toISOString().slice(0, 10)}, in ${opts.seconds.toFixed(0)} s, on ${machine()}.

${opts.body.trimEnd()}
`;
  const file = resolve(root, ".data/bench", `${opts.name}.md`);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, section);
  process.stdout.write(section);
  opts.log(`written to ${file}`);
  if (opts.argv.includes("--into") && into) {
    const target = resolve(root, into);
    await writeFile(target, placeSectionUnder(await readFile(target, "utf8"), opts.heading, section));
    opts.log(`placed in ${target}`);
  }
}
