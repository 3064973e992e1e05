import type { IncomingMessage, ServerResponse } from "node:http";
import { type DestinationStream, type Level, type Logger, pino } from "pino";

/**
 * The simulator's logger, by the gateway's rule (packages/core/src/logger.ts): JSON lines, or
 * pino-pretty when LOG_PRETTY is on, which `pnpm start` sets for every process it runs in a terminal.
 */
export function createSimLogger(opts: {
  level: string;
  pretty?: boolean;
  destination?: DestinationStream;
}): Logger {
  const options = { name: "zimage-sim", level: opts.level };
  if (opts.pretty)
    return pino({
      ...options,
      transport: {
        target: "pino-pretty",
        options: { colorize: true, translateTime: "HH:MM:ss.l", ignore: "pid,hostname,name" },
      },
    });
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/**
 * What a gateway polls all the time (health, status, model discovery, route discovery): every few
 * seconds per upstream, so at info they would drown the image requests worth reading.
 */
const POLLED = new Set(["/health", "/v1/internal/status", "/v1/models", "/openapi.json"]);

/** The level of a request's log line: polling at debug, failures at warn or error, the rest at info. */
export function requestLogLevel(req: IncomingMessage, res: ServerResponse, err?: Error): Level {
  if (err || res.statusCode >= 500) return "error";
  if (POLLED.has((req.url ?? "").split("?")[0]!)) return "debug";
  return res.statusCode >= 400 ? "warn" : "info";
}
