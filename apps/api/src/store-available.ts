import { GatewayError } from "@zimage/core";
import type { RequestHandler } from "express";
import type { Redis } from "ioredis";

/**
 * While Redis is reconnecting, ioredis would hold commands in its offline queue and BullMQ would wait
 * for the connection, so a request could hang, or be answered 503 and then be queued anyway once
 * Redis is back. Refusing up front keeps the answer prompt and true: 503 means nothing was created.
 */
export function storeAvailable(redis: Redis): RequestHandler {
  return (_req, res, next) => {
    if (redis.status === "ready") return next();
    res.setHeader("Retry-After", "5");
    next(new GatewayError("service_unavailable", "the job store is unavailable; retry shortly"));
  };
}
