/**
 * The parts of `pnpm start` as child processes, and the one way they stop: in a fixed order, each
 * given its own time, whatever the reason (a signal, a part dying, a bug in start.ts).
 *
 * Every part runs detached, in its own process group and session, so a terminal's Ctrl-C (SIGINT to
 * the foreground group) or a closed terminal (SIGHUP) reaches start.ts alone; start.ts then asks
 * the parts one at a time. Otherwise the simulator would die with the worker's image still on it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { type Part, say } from "./log";

export interface PartOptions {
  env?: Record<string, string>;
  /** How long the part may take to stop after SIGTERM before it is killed (SIGKILL to its group). */
  stopTimeoutMs: number;
  /** What the part does on SIGTERM, shown when it is asked to stop. */
  onStop?: string;
  /** false: even a hurried stop (second Ctrl-C) asks with SIGTERM. For Redis, which then writes its AOF. */
  killWhenHurried?: boolean;
}

interface Running {
  part: Part;
  child: ChildProcess;
  opts: PartOptions;
  /** Its stdout and stderr are read to the end (its last lines are out). */
  drained: Promise<unknown>;
}

const hasExited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;
const describeExit = (code: number | null, signal: NodeJS.Signals | null) => signal ?? `code ${code}`;
const SAME_SIGNAL_WINDOW_MS = 1_000;
const AGAIN = "Press Ctrl-C again (after a second) to stop at once.";
const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;

export class Supervisor {
  private readonly running = new Map<Part, Running>();
  private stopping = false;
  private hurried = false;
  private signals = 0;
  private lastSignalAt = 0;
  /** The part being waited for right now, so a second Ctrl-C can cut its wait short. */
  private current: Running | null = null;

  constructor(
    private readonly opts: {
      cwd: string;
      /** Parts stop in this order; start.ts passes api, worker, sim, redis. */
      stopOrder: readonly Part[];
      env: Record<string, string>;
    },
  ) {}

  get isStopping(): boolean {
    return this.stopping;
  }

  /** Starts a part; null (nothing started) once stopping has begun. */
  run(part: Part, command: string, args: string[], opts: PartOptions): ChildProcess | null {
    if (this.stopping) return null;
    const child = spawn(command, args, {
      cwd: this.opts.cwd,
      detached: true,
      env: { ...process.env, ...this.opts.env, ...opts.env },
      // stdin is the part's lifeline (see exit-with-parent.ts): never written, closed when start.ts ends.
      stdio: ["pipe", "pipe", "pipe"],
    });
    // Nothing is ever written to the lifeline, so an error on it (EPIPE once the part is gone) has no
    // data to lose; the part's exit is reported by the 'exit' handler below.
    child.stdin?.on("error", () => {});
    const drained = Promise.all([forward(part, child.stdout), forward(part, child.stderr)]);
    const running: Running = { part, child, opts, drained };
    this.running.set(part, running);
    child.on("spawn", () => say("start", `started ${part} (pid ${child.pid})`));
    child.on("error", (err) => {
      void this.stopAll(1, `${part} could not start: ${err.message}; stopping the rest`);
    });
    child.on("exit", (code, signal) => {
      if (!this.stopping)
        void this.stopAll(
          1,
          `${part} exited unexpectedly (${describeExit(code, signal)}); stopping the rest`,
        );
    });
    return child;
  }

  /**
   * A first SIGINT, SIGTERM or SIGHUP stops everything in order; the next one hurries it. A signal
   * within a second of the previous one is the same one delivered twice: a wrapper such as `npm start`
   * forwards the terminal's Ctrl-C to us although the terminal has sent it to us already, and that
   * must not count as the user insisting.
   */
  onSignal(signal: NodeJS.Signals): void {
    const now = Date.now();
    if (now - this.lastSignalAt < SAME_SIGNAL_WINDOW_MS) return;
    this.lastSignalAt = now;
    this.signals += 1;
    if (!this.stopping) {
      const parts = this.opts.stopOrder.filter((p) => this.isRunning(p));
      void this.stopAll(0, `${signal}: stopping ${parts.join(", then ")}. ${AGAIN}`);
      return;
    }
    if (this.signals === 1) {
      say("start", `${signal}: already stopping. ${AGAIN}`);
      return;
    }
    if (this.hurried) return;
    this.hurried = true;
    say(
      "start",
      `${signal} again: stopping at once. Parts still running are killed (Redis is still asked, so it keeps its data); a job the worker was running is picked up again by the next worker.`,
    );
    if (this.current && this.current.opts.killWhenHurried !== false) this.kill(this.current);
  }

  /** Stops every running part in `stopOrder`, one after the other, then exits with `code`. */
  async stopAll(code: number, why: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    say("start", why);
    for (const part of this.opts.stopOrder) {
      const running = this.running.get(part);
      if (!running || hasExited(running.child)) continue;
      this.current = running;
      await this.stopOne(running);
    }
    this.current = null;
    for (const { part, child } of this.running.values()) {
      if (!this.opts.stopOrder.includes(part) && !hasExited(child)) this.kill({ part, child });
    }
    process.exit(code);
  }

  private isRunning(part: Part): boolean {
    const running = this.running.get(part);
    return running !== undefined && !hasExited(running.child);
  }

  private async stopOne(running: Running): Promise<void> {
    const { part, child, opts } = running;
    // Not events.once: it would reject on an 'error' (a failed kill), and the stop must go on.
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.once("exit", (code, signal) => resolve([code, signal])),
    );
    if (this.hurried && opts.killWhenHurried !== false) {
      say("start", `killing ${part}`);
      this.kill(running);
    } else {
      say(
        "start",
        `stopping ${part}${opts.onStop ? `: ${opts.onStop}` : ""} (killed if not stopped within ${seconds(opts.stopTimeoutMs)})`,
      );
      child.kill("SIGTERM");
    }
    const timer = setTimeout(() => {
      say("start", `${part} did not stop within ${seconds(opts.stopTimeoutMs)}: killing it`);
      this.kill(running);
    }, opts.stopTimeoutMs);
    const [code, signal] = await exited;
    clearTimeout(timer);
    // Its last lines first, then ours; a grandchild holding the pipe open must not hold us up.
    await Promise.race([running.drained, new Promise((r) => setTimeout(r, 1_000).unref())]);
    say("start", `${part} stopped (${describeExit(code, signal)})`);
  }

  /**
   * SIGKILL to the part's whole process group (the Redis guard and its redis-server, say). Only while
   * the part's leader is alive: its pid, which is the group's id, cannot have been reused then.
   */
  private kill({ part, child }: { part: Part; child: ChildProcess }): void {
    if (hasExited(child) || child.pid === undefined) return;
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch (err) {
      say("start", `could not kill ${part}'s process group: ${(err as Error).message}`);
      child.kill("SIGKILL");
    }
  }
}

/** Forwards a part's output line by line, tagged; resolves when the stream ends. */
function forward(part: Part, stream: NodeJS.ReadableStream | null): Promise<void> {
  if (!stream) return Promise.resolve();
  let buf = "";
  stream.on("data", (chunk: Buffer) => {
    buf += chunk.toString();
    const lines = buf.split("\n");
    buf = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) say(part, line);
  });
  return new Promise((resolve) =>
    stream.on("close", () => {
      if (buf.trim()) say(part, buf);
      resolve();
    }),
  );
}
