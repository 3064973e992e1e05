import { randomUUID } from "node:crypto";
import { type Logger, redactRequestTarget } from "@zimage/core";
import type { RequestHandler } from "express";

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Request ids and one log line per request: errors at error, client mistakes at info, the rest at
 * debug. Replaces pino-http, whose per-request child logger cost a tenth of the api's CPU under
 * load (BENCHMARKS.md); a line is only built when its level is enabled.
 */
export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.headers["x-request-id"];
    const id = typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    // Read back by the error handler, which logs it with any failure.
    (req as { id?: string }).id = id;
    res.setHeader("X-Request-Id", id);
    const started = performance.now();
    res.once("finish", () => {
      const status = res.statusCode;
      const level = status >= 500 ? "error" : status >= 400 ? "info" : "debug";
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          reqId: id,
          // A signed image URL's `sig` (and any token-like query value) opens the image to whoever
          // holds it: logs are read by more people than the job's owner (issue #17).
          req: { method: req.method, url: redactRequestTarget(req.originalUrl) },
          res: { statusCode: status },
          responseTime: Math.round(performance.now() - started),
        },
        "request completed",
      );
    });
    next();
  };
}
