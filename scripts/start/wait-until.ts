import { setTimeout as sleep } from "node:timers/promises";

/** Polls `probe` every 100 ms until it is true; false once `timeoutMs` has passed. */
export async function waitUntil(
  probe: () => Promise<boolean> | boolean,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await sleep(100);
  }
  return false;
}
