import { z } from "zod";

/**
 * Faults the simulator can inject, set at start (env) or live (`PUT /_sim/faults`). Counters count
 * down as they fire, so a test can say "the next two loads fail" and then watch recovery.
 */
export const faultsSchema = z.strictObject({
  /**
   * The next N model loads fail, the model staying unloaded: 500 "Model loading failed" in the
   * documented profile, "T2I Load Error: …" / "Edit Load Error: …" in the reference one.
   */
  loadFailures: z.number().int().min(0).optional(),
  /** A request whose per-image pixel count exceeds this answers 500 "CUDA out of memory". */
  oomAbovePixels: z.number().int().min(1).nullable().optional(),
  /** Extra delay before every image request is processed. */
  latencyMs: z.number().min(0).optional(),
  /** The next N image requests have their connection destroyed before any answer. */
  dropConnections: z.number().int().min(0).optional(),
  /** The next image request answers exactly this (e.g. a 4xx the gateway must not retry). */
  failNext: z
    .object({ status: z.number().int().min(400).max(599), body: z.unknown() })
    .nullable()
    .optional(),
});

export interface Faults {
  loadFailures: number;
  oomAbovePixels: number | null;
  latencyMs: number;
  dropConnections: number;
  failNext: { status: number; body: unknown } | null;
}

export const noFaults = (): Faults => ({
  loadFailures: 0,
  oomAbovePixels: null,
  latencyMs: 0,
  dropConnections: 0,
  failNext: null,
});
