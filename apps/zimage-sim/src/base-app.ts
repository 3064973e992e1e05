import express, { type Express } from "express";
import type { Logger } from "pino";
import { pinoHttp } from "pino-http";
import { requestLogLevel } from "./sim-logger";

/** An express app with the simulator's request logging, the base of every profile. */
export function createBaseApp(logger: Logger): Express {
  const app = express();
  app.disable("x-powered-by");
  app.use(pinoHttp({ logger, customLogLevel: requestLogLevel }));
  return app;
}
