import { type ChildProcess, spawn } from "node:child_process";

export interface RunningProcess {
  child: ChildProcess;
  /** The OS process id (what a worker puts in its lease owner, `host:pid:rand`). */
  readonly pid: number;
  /** Everything the process wrote so far (stdout + stderr), for assertions and failure messages. */
  output(): string;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Sends a signal and waits for exit; SIGKILL after `graceMs`. Resolves with the exit code. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
  exited: Promise<number | null>;
  /**
   * SIGSTOP: the process freezes mid-instruction, its sockets stay open and its timers stop, as in a
   * long GC pause or a VM migration. Always `resume()` it (stop() does, so a test's cleanup cannot
   * leave a frozen process behind).
   */
  pause(): void;
  /** SIGCONT after `pause()`. */
  resume(): void;
  readonly paused: boolean;
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
  const running = () => child.exitCode === null && child.signalCode === null;
  let paused = false;
  const resume = () => {
    if (paused && running()) child.kill("SIGCONT");
    paused = false;
  };
  return {
    child,
    get pid() {
      if (child.pid === undefined) throw new Error(`${command} has no pid (it did not start)`);
      return child.pid;
    },
    pause: () => {
      if (!running()) return;
      child.kill("SIGSTOP");
      paused = true;
    },
    resume,
    get paused() {
      return paused;
    },
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
      if (!running()) return child.exitCode;
      child.kill(signal);
      // A stopped process only acts on its signal once continued (SIGKILL excepted).
      resume();
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
