import { loadSimulatorConfig, type SimulatorConfig } from "./config";
import { startSimulator } from "./simulator";

let config: SimulatorConfig;
try {
  config = loadSimulatorConfig();
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}

const sim = await startSimulator(config);
process.stdout.write(
  `${JSON.stringify({ level: 30, time: Date.now(), name: "zimage-sim", msg: `Z-Image simulator listening on ${sim.url}`, profile: config.profile, loadMs: config.loadMs, baseMs: config.baseMs, msPerStepMegapixel: config.msPerStepMegapixel, faults: config.faults })}\n`,
);

const stop = async () => {
  await sim.close();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
