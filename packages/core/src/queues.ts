/** BullMQ queue names. One `generate` queue holds both kinds; each upstream's dispatcher takes from it. */
export const QUEUES = {
  generate: "generate",
  /** One job per webhook delivery (durable retries, survives restarts). */
  webhooks: "webhooks",
} as const;
