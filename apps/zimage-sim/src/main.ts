import { loadSimulatorConfig, type SimulatorConfig } from "./config";
import { createSimLogger } from "./sim-logger";
import { startSimulator } from "./simulator";

let config: SimulatorConfig;
try {
  config = loadSimulatorConfig();
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}

const logger = createSimLogger({ level: config.logLevel, pretty: config.logPretty });
const sim = await startSimulator({ ...config, logger });
logger.info(
  {
    profile: config.profile,
    loadMs: config.loadMs,
    baseMs: config.baseMs,
    msPerStepMegapixel: config.msPerStepMegapixel,
    faults: config.faults,
  },
  `Z-Image simulator listening on ${sim.url}`,
);

const stop = async () => {
  await sim.close();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
