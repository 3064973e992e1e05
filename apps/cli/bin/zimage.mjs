#!/usr/bin/env node
// The CLI is TypeScript run through tsx, like the rest of the repository (no build step).
import { register } from "tsx/esm/api";

// `pnpm zimage …` runs this from the repository's root; file arguments and -o are meant relative to
// where the user typed the command, which pnpm passes as INIT_CWD.
if (process.env.npm_lifecycle_event === "zimage" && process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);

register();
const { main } = await import("../src/main.ts");
process.exitCode = await main(process.argv.slice(2));
