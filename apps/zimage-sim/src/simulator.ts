import type { AddressInfo } from "node:net";
import type { Express } from "express";
import type { Logger } from "pino";
import { createDocumentedApp } from "./documented-app";
import { type Faults, noFaults } from "./faults";
import { SimulatedGpu, type SimulatorStats } from "./gpu";
import { createReferenceApp } from "./reference/app";
import { createSimLogger } from "./sim-logger";

/**
 * Which server the simulator plays: "documented" follows the API notes of shared/zimage-api.md;
 * "reference" reproduces the public reference server's code (same file, "The public reference
 * server: what it actually does").
 */
export type SimulatorProfile = "documented" | "reference";

export interface SimulatorOptions {
  profile?: SimulatorProfile;
  host?: string;
  port?: number;
  loadMs?: number;
  /** Reference profile: load time of the text-to-image pipeline (default `loadMs`). */
  t2iLoadMs?: number;
  /** Reference profile: load time of the edit pipeline (default `loadMs`). */
  editLoadMs?: number;
  /**
   * Reference profile: the origin of result URLs, which the real server guesses for itself.
   * Default `http://zimage-gpu.invalid:<port>`, unreachable on purpose: a client must rebase it.
   */
  publicHost?: string;
  baseMs?: number;
  msPerStepMegapixel?: number;
  faults?: Partial<Faults>;
  /** Default "silent": a simulator inside a test keeps quiet. Ignored when `logger` is given. */
  logLevel?: string;
  /** Human-readable lines (pino-pretty) instead of JSON. */
  logPretty?: boolean;
  logger?: Logger;
}

export interface RunningSimulator {
  url: string;
  port: number;
  close(): Promise<void>;
  stats(): SimulatorStats;
  setFaults(f: Partial<Faults>): void;
  reset(): void;
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<RunningSimulator> {
  const gpu = new SimulatedGpu({ ...noFaults(), ...opts.faults });
  const timings = {
    loadMs: opts.loadMs ?? 3000,
    baseMs: opts.baseMs ?? 1000,
    msPerStepMegapixel: opts.msPerStepMegapixel ?? 20,
    logger:
      opts.logger ?? createSimLogger({ level: opts.logLevel ?? "silent", pretty: opts.logPretty ?? false }),
  };
  let port = 0;
  const app =
    opts.profile === "reference"
      ? createReferenceApp(gpu, {
          ...timings,
          t2iLoadMs: opts.t2iLoadMs ?? timings.loadMs,
          editLoadMs: opts.editLoadMs ?? timings.loadMs,
          publicHost: () => opts.publicHost ?? `http://zimage-gpu.invalid:${port}`,
        })
      : createDocumentedApp(gpu, timings);
  const host = opts.host ?? "127.0.0.1";
  const server = await new Promise<ReturnType<Express["listen"]>>((resolve, reject) => {
    const s = app.listen(opts.port ?? 0, host, () => resolve(s));
    s.once("error", reject);
  });
  // Image requests hold their connection for minutes on the real server; no server-side timeout.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    stats: () => gpu.stats(),
    setFaults: (f) => Object.assign(gpu.faults, f),
    reset: () => {
      gpu.faults = noFaults();
      gpu.resetStats();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
