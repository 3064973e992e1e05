import type { Cluster } from "@zimage/test-cluster";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type LeaseCluster,
  type LeaseFaultOutcome,
  type LeaseFaultPlan,
  runLeaseFaults,
  startLeaseCluster,
} from "../chaos/lease-faults";

/**
 * Issue #16 §1, fast part: the lease holder is frozen or cut off from Redis for longer than the
 * lease's TTL (1.5 s here) while a backlog waits, and a standby takes over. Whatever the old holder
 * does when it comes back, the GPU must never see two requests at once and every job must complete
 * exactly once. Nothing here asserts a timing; the 200-job versions are in apps/worker/chaos/.
 *
 * One cluster serves the three faults (starting one costs more than a run); each run begins from an
 * idle GPU with the simulator's counters reset.
 */
const JOBS = 30;
let lc: LeaseCluster | undefined;
let cluster: Cluster | undefined;
beforeAll(async () => {
  lc = await startLeaseCluster({ baseMs: 100 }, (c) => {
    cluster = c;
  });
}, 120_000);
afterAll(async () => {
  // Also when a worker failed to start; stop() continues frozen workers and restores cut proxies
  // before killing anything.
  await cluster?.stop();
});

async function run(fault: string, plan: Omit<LeaseFaultPlan, "faultMs">, latencyMs = 0) {
  if (!lc) throw new Error("the cluster did not start");
  return runLeaseFaults(
    lc,
    fault,
    { ...plan, faultMs: () => 3_000 },
    { jobs: JOBS, settleMs: 45_000, latencyMs },
  );
}

function expectFenced({ row, jobsDone, notes }: LeaseFaultOutcome) {
  const explain = JSON.stringify(row);
  expect(notes.length, explain).toBeGreaterThanOrEqual(1);
  expect(row.gpuMaxInFlight, explain).toBe(1);
  expect(row.acknowledged, explain).toBe(JOBS);
  expect(row.completed, explain).toBe(JOBS);
  expect(row.duplicatedJobs, explain).toBe(0);
  // Each job completed once: the upstream counts a completion only when moveToCompleted held the lock.
  expect(jobsDone, explain).toBe(JOBS);
}

describe("lease fencing", () => {
  it("a holder frozen between jobs past its lease does not send another job when it wakes", async () => {
    expectFenced(await run("holder SIGSTOPped between jobs", { kind: "pause-between-jobs", times: 1 }));
  });

  it("a holder frozen mid-job past its lease does not send another job when it wakes", async () => {
    // A longer request, so the holder is frozen while the GPU still has it. Twice: whether the old
    // dispatcher, waking, reads the GPU's answer (and fetches) before its lease renewal fails is a race.
    expectFenced(await run("holder SIGSTOPped mid-job", { kind: "pause-mid-job", times: 2 }, 150));
  });

  it("a holder cut off from Redis past its lease does not send another job when the network heals", async () => {
    expectFenced(await run("holder's Redis connection blackholed", { kind: "redis-blackhole", times: 2 }));
  });
});
