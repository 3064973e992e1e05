/** Exit codes, for scripts: documented in the README and in `zimage --help`. */
export const EXIT = {
  ok: 0,
  /** The job ended failed or canceled. */
  jobFailed: 1,
  /** Bad arguments. */
  usage: 2,
  /** The gateway refused the request (4xx: invalid input, auth, limits, not found). */
  refused: 3,
  /** The gateway could not be reached or failed (connection, timeout, 5xx). */
  unavailable: 4,
} as const;

export class UsageError extends Error {}
