/**
 * One `pnpm start` (scripts/start.ts) under test: real redis-server, simulator, worker and api on free
 * loopback ports, data in a temp dir, started in its own process group as a terminal starts a
 * foreground job, so `signalGroup("SIGINT")` is exactly what Ctrl-C does.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort, waitFor } from "@zimage/testkit/standalone";

const root = resolve(import.meta.dirname, "../..");

export interface LeftProcess {
  pid: number;
  command: string;
}

export interface GatewayRun {
  child: ChildProcess;
  dataDir: string;
  apiUrl: string;
  simUrl: string;
  redisPort: number;
  output(): string;
  /** start.ts's own lines ("start  | …"), without the tag. */
  startLines(): string[];
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<void>;
  /** The pid start.ts reported for a part ("started worker (pid 123)"). */
  pidOf(part: "redis" | "sim" | "worker" | "api"): number;
  /** What a terminal does on Ctrl-C (SIGINT) or when it is closed (SIGHUP): signal the whole group. */
  signalGroup(signal: NodeJS.Signals): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Live processes started by this run (start.ts included while it runs). */
  leftovers(): LeftProcess[];
  /** Kills whatever this run left (after a failed assertion) and removes its temp dir. */
  cleanup(): void;
}

/**
 * Processes of a run, by Linux /proc: those with the run's DATA_DIR in their environment (start.ts
 * and every part), and those working in its data dir: redis-server chdirs to its --dir, and its
 * environment cannot be read back because it writes its title over the memory that held it.
 */
function processesOfRun(dataDir: string): LeftProcess[] {
  const needle = `DATA_DIR=${dataDir}`;
  const found: LeftProcess[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let ours: boolean;
    try {
      ours =
        readFileSync(`/proc/${name}/environ`, "latin1").split("\0").includes(needle) ||
        readlinkSync(`/proc/${name}/cwd`).startsWith(dataDir);
    } catch {
      continue; // gone since the listing, or another user's: not ours either way
    }
    if (!ours) continue;
    let command = "?";
    try {
      command = readFileSync(`/proc/${name}/cmdline`, "latin1").split("\0").join(" ").trim();
    } catch {
      // exited between the reads; still reported, with an unknown command line
    }
    found.push({ pid: Number(name), command });
  }
  return found;
}

export async function startGateway(env: Record<string, string> = {}): Promise<GatewayRun> {
  const dir = mkdtempSync(join(tmpdir(), "zimage-start-"));
  const dataDir = join(dir, "data");
  const consoleDir = join(dir, "console"); // set, so start.ts skips the console build
  mkdirSync(consoleDir);
  const [redisPort, apiPort, simPort] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
    cwd: root,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      DATA_DIR: dataDir,
      CONSOLE_DIR: consoleDir,
      PORT: String(apiPort),
      HOST: "127.0.0.1",
      SIM_PORT: String(simPort),
      WORKER_METRICS_PORT: "0",
      ZIMAGE_UPSTREAMS: undefined,
      ADMIN_API_KEY: undefined,
      LOG_PRETTY: "false",
      LOG_LEVEL: "info",
      SIM_LOAD_MS: "100",
      ...env,
    },
  });
  let out = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) =>
    child.once("exit", (code, signal) => ok({ code, signal })),
  );
  const run: GatewayRun = {
    child,
    dataDir,
    apiUrl: `http://127.0.0.1:${apiPort}`,
    simUrl: `http://127.0.0.1:${simPort}`,
    redisPort,
    output: () => out,
    startLines: () =>
      out
        .split("\n")
        .filter((l) => l.startsWith("start  | "))
        .map((l) => l.slice("start  | ".length)),
    waitForOutput: async (pattern, timeoutMs) => {
      try {
        await waitFor(() => pattern.test(out) || child.exitCode !== null || child.signalCode !== null, {
          timeoutMs,
          what: String(pattern),
        });
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- output ---\n${out.slice(-6000)}`);
      }
      if (!pattern.test(out))
        throw new Error(`start.ts exited before ${pattern}\n--- output ---\n${out.slice(-6000)}`);
    },
    pidOf: (part) => {
      const match = out.match(new RegExp(`started ${part} \\(pid (\\d+)\\)`));
      if (!match) throw new Error(`start.ts did not report a pid for ${part}`);
      return Number(match[1]);
    },
    signalGroup: (signal) => {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    },
    exited,
    leftovers: () => processesOfRun(dataDir),
    cleanup: () => {
      for (const { pid } of processesOfRun(dataDir)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone: nothing to clean
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await run.waitForOutput(/api listening/, 60_000);
  await run.waitForOutput(/"msg":"worker ready"/, 60_000);
  return run;
}

/**
 * Asserts that `lines` contain a line matching each pattern, in this order (other lines between).
 * Returns a readable failure message, or null.
 */
export function missingInOrder(lines: string[], patterns: RegExp[]): string | null {
  let at = 0;
  for (const pattern of patterns) {
    const found = lines.findIndex((line, i) => i >= at && pattern.test(line));
    if (found < 0) return `no line matching ${pattern} after line ${at}:\n${lines.join("\n")}`;
    at = found + 1;
  }
  return null;
}
