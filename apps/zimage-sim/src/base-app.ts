import express, { type Express } from "express";
import { pino } from "pino";
import { pinoHttp } from "pino-http";

/** An express app with the simulator's request logging, the base of every profile. */
export function createBaseApp(logLevel: string): Express {
  const app = express();
  app.disable("x-powered-by");
  const logger = pino({ name: "zimage-sim", level: logLevel });
  app.use(
    pinoHttp({
      logger,
      // Health and status are polled constantly by the gateway; logging each would drown the rest.
      autoLogging: { ignore: (req) => req.url === "/health" || req.url === "/v1/internal/status" },
    }),
  );
  return app;
}
