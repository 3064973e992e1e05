import { type ChildProcess, spawn } from "node:child_process";

export interface RunningProcess {
  child: ChildProcess;
  /** Everything the process wrote so far (stdout + stderr), for assertions and failure messages. */
  output(): string;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Sends a signal and waits for exit; SIGKILL after `graceMs`. Resolves with the exit code. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
  exited: Promise<number | null>;
}

/** Spawns a real child process (e.g. `tsx apps/api/src/main.ts`) with captured output. */
export function startProcess(
  command: string,
  args: string[],
  opts: { env?: Record<string, string | undefined>; cwd?: string } = {},
): RunningProcess {
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const append = (chunk: Buffer) => {
    out += chunk.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code));
  });
  return {
    child,
    output: () => out,
    exited,
    waitForOutput: async (pattern, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      let exitedAt: number | null = null;
      while (!pattern.test(out)) {
        if (exitedAt === null && (child.exitCode !== null || child.signalCode !== null))
          exitedAt = Date.now();
        // Output can still be in the pipe at exit: give it a moment, then fail at once, not at the deadline.
        const failure =
          exitedAt !== null && Date.now() - exitedAt > 250
            ? `process exited with ${child.exitCode ?? child.signalCode} before ${pattern}`
            : Date.now() > deadline
              ? `timed out after ${timeoutMs} ms waiting for ${pattern} in output of ${command} ${args.join(" ")}`
              : null;
        if (failure) throw new Error(`${failure}\n--- output ---\n${out.slice(-4000)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    stop: async (signal = "SIGTERM", graceMs = 10_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
