import { z } from "zod";
import type { Faults } from "./faults";

const ms = z.coerce
  .number()
  .min(0)
  .max(24 * 3600 * 1000);
const count = z.coerce.number().int().min(0).max(1_000_000);

/** The simulator's settings; env names are documented in apps/zimage-sim/README.md. */
const schema = z.object({
  SIM_PROFILE: z.enum(["documented", "reference"]).default("documented"),
  SIM_HOST: z.string().min(1).default("127.0.0.1"),
  SIM_PORT: z.coerce.number().int().min(0).max(65535).default(8003),
  SIM_LOAD_MS: ms.default(3000),
  SIM_T2I_LOAD_MS: ms.optional(),
  SIM_EDIT_LOAD_MS: ms.optional(),
  SIM_PUBLIC_HOST: z.url().optional(),
  SIM_BASE_MS: ms.default(1000),
  SIM_MS_PER_STEP_MEGAPIXEL: ms.default(20),
  SIM_FAULT_LOAD_FAILURES: count.default(0),
  SIM_FAULT_OOM_ABOVE_PIXELS: count.optional(),
  SIM_FAULT_LATENCY_MS: ms.default(0),
  SIM_FAULT_DROP_CONNECTIONS: count.default(0),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** The gateway's variable, with its meaning: `pnpm start` sets it for the processes it runs in a terminal. */
  LOG_PRETTY: z
    .enum(["true", "false", "1", "0", "yes", "no"], { message: "must be true or false" })
    .transform((v) => v === "true" || v === "1" || v === "yes")
    .default(false),
});

export interface SimulatorConfig {
  profile: "documented" | "reference";
  host: string;
  port: number;
  loadMs: number;
  t2iLoadMs?: number;
  editLoadMs?: number;
  publicHost?: string;
  baseMs: number;
  msPerStepMegapixel: number;
  faults: Partial<Faults>;
  logLevel: string;
  logPretty: boolean;
}

export function loadSimulatorConfig(env: Record<string, string | undefined> = process.env): SimulatorConfig {
  const cleaned = Object.fromEntries(
    Object.keys(schema.shape).map((k) => [k, env[k] === "" ? undefined : env[k]]),
  );
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (i) => `${String(i.path[0])}=${JSON.stringify(env[String(i.path[0])])}: ${i.message}`,
    );
    throw new Error(`invalid simulator configuration:\n  ${lines.join("\n  ")}`);
  }
  const c = parsed.data;
  return {
    profile: c.SIM_PROFILE,
    host: c.SIM_HOST,
    port: c.SIM_PORT,
    loadMs: c.SIM_LOAD_MS,
    ...(c.SIM_T2I_LOAD_MS !== undefined && { t2iLoadMs: c.SIM_T2I_LOAD_MS }),
    ...(c.SIM_EDIT_LOAD_MS !== undefined && { editLoadMs: c.SIM_EDIT_LOAD_MS }),
    ...(c.SIM_PUBLIC_HOST !== undefined && { publicHost: c.SIM_PUBLIC_HOST.replace(/\/+$/, "") }),
    baseMs: c.SIM_BASE_MS,
    msPerStepMegapixel: c.SIM_MS_PER_STEP_MEGAPIXEL,
    faults: {
      loadFailures: c.SIM_FAULT_LOAD_FAILURES,
      oomAbovePixels: c.SIM_FAULT_OOM_ABOVE_PIXELS ?? null,
      latencyMs: c.SIM_FAULT_LATENCY_MS,
      dropConnections: c.SIM_FAULT_DROP_CONNECTIONS,
    },
    logLevel: c.LOG_LEVEL,
    logPretty: c.LOG_PRETTY,
  };
}
