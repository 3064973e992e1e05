import { type DestinationStream, type Logger, type LoggerOptions, pino } from "pino";

export type { Logger };

/**
 * Paths that may carry secrets; pino replaces them before a line is written (secrets are never logged).
 * Covers raw request headers as serialised by pino-http and common config-ish fields.
 */
export const REDACT_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  "req.headers['x-api-key']",
  'res.headers["set-cookie"]',
  "*.apiKey",
  "*.secret",
  "*.password",
  // ioredis puts the failed command on its errors (`err.command.args`): a webhook secret being
  // stored, a key hash, a session id. Only the command's name is worth a log line.
  "*.command.args",
  "err.command.args",
];

/** `destination`: where lines go instead of stdout (a test reads them back). */
export function createLogger(opts: {
  level: string;
  pretty?: boolean;
  name: string;
  destination?: DestinationStream;
}): Logger {
  const options: LoggerOptions = {
    name: opts.name,
    level: opts.level,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    base: { service: opts.name },
  };
  if (opts.pretty) {
    return pino({
      ...options,
      transport: {
        target: "pino-pretty",
        options: { colorize: true, translateTime: "HH:MM:ss.l", ignore: "pid,hostname,service,name" },
      },
    });
  }
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
