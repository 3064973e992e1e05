import { QUEUES } from "../queues";

/**
 * BullMQ's Redis key for one part of the `generate` queue (`<prefix>:generate:<part>`: `wait`,
 * `prioritized`, `active`, `delayed`, …), and, with a job id as the part, the job's hash. Scripts that
 * read the queue beside our own keys take these, so the layout is spelled in one place.
 */
export const generateQueueKey = (prefix: string, part: string): string =>
  `${prefix}:${QUEUES.generate}:${part}`;
