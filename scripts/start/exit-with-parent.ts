/**
 * Preloaded (`node --import`) into every part that `pnpm start` runs, so no part outlives it.
 *
 * start.ts gives each part a stdin pipe that it never writes to and never closes. Whenever start.ts
 * ends — an orderly exit, a crash, or a SIGKILL that gives it no chance to clean up — the kernel
 * closes its end, and this end sees EOF. The part then stops as on SIGTERM, through its own
 * shutdown (the worker still finishes its image in flight). A pipe is used rather than polling
 * process.ppid because EOF arrives at once and works the same on Linux and macOS.
 */
let told = false;
function parentGone(): void {
  if (told) return;
  told = true;
  process.kill(process.pid, "SIGTERM");
}

const lifeline = process.stdin;
lifeline.on("end", parentGone);
lifeline.on("close", parentGone);
// An error on a pipe nobody writes to means it is broken, which is the same news as EOF.
lifeline.on("error", parentGone);
lifeline.resume();
// The lifeline must not keep an otherwise finished process alive.
if ("unref" in lifeline && typeof lifeline.unref === "function") lifeline.unref();
