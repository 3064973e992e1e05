import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const lifeline = pathToFileURL(resolve(import.meta.dirname, "exit-with-parent.ts")).href;

/** Node arguments to run a TypeScript entry point as a part that stops when start.ts ends. */
export function nodePart(root: string, file: string): string[] {
  return ["--import", "tsx", "--import", lifeline, resolve(root, file)];
}
