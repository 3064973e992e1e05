export { loadSimulatorConfig, type SimulatorConfig } from "./config";
export type { Faults } from "./faults";
export type { RequestRecord, SimulatorStats } from "./gpu";
export { type RenderParams, renderImage } from "./image-renderer";
export {
  type RunningSimulator,
  type SimulatorOptions,
  type SimulatorProfile,
  startSimulator,
} from "./simulator";
