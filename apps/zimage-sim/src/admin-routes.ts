import express, { type Express, type Request, type Response } from "express";
import { faultsSchema, noFaults } from "./faults";
import type { SimulatedGpu } from "./gpu";

/** The `/_sim/*` endpoints tests and operators use; the same in every profile. */
export function mountAdminRoutes(app: Express, gpu: SimulatedGpu): void {
  app.get("/_sim/stats", (_req, res) => {
    res.json(gpu.stats());
  });
  app.get("/_sim/faults", (_req, res) => {
    res.json(gpu.faults);
  });
  const setFaults = (req: Request, res: Response) => {
    const parsed = faultsSchema.safeParse(req.body ?? {});
    if (!parsed.success)
      return res
        .status(400)
        .json({ detail: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`) });
    Object.assign(gpu.faults, parsed.data);
    res.json(gpu.faults);
  };
  app.put("/_sim/faults", express.json(), setFaults);
  app.post("/_sim/faults", express.json(), setFaults);
  app.post("/_sim/reset", (_req, res) => {
    gpu.faults = noFaults();
    gpu.resetStats();
    res.json({ status: "reset" });
  });
}
