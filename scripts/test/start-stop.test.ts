/**
 * How `pnpm start` stops (issue #16 §4, docs/reliability.md#stopping): whatever ends it, the api goes
 * first, then the worker (after its image in flight), then the simulator, then the Redis it started,
 * and no process of the run is left.
 */
import { waitFor } from "@zimage/testkit/standalone";
import { afterEach, describe, expect, it } from "vitest";
import { type GatewayRun, missingInOrder, startGateway } from "./gateway-run";
import { jobStatusFromAof } from "./job-status-from-aof";

const ORDER = [
  /^stopping api/,
  /^api stopped/,
  /^stopping worker/,
  /^worker stopped/,
  /^stopping sim/,
  /^sim stopped/,
  /^stopping redis/,
  /^redis stopped/,
];

let run: GatewayRun | null = null;
afterEach(() => {
  run?.cleanup();
  run = null;
});

/** start.ts's exit, or a failure with its output after `timeoutMs`. */
async function exitWithin(r: GatewayRun, timeoutMs: number) {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`start.ts did not exit within ${timeoutMs} ms\n${r.output().slice(-6000)}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([r.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function expectStoppedInOrder(r: GatewayRun, order: RegExp[], exitCode: number): Promise<void> {
  const exit = await exitWithin(r, 60_000);
  expect(missingInOrder(r.startLines(), order)).toBeNull();
  expect(exit).toEqual({ code: exitCode, signal: null });
  expect(r.leftovers()).toEqual([]);
}

async function submitJob(r: GatewayRun): Promise<string> {
  const res = await fetch(`${r.apiUrl}/v1/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ prompt: "a lighthouse at dusk", size: "256x256", num_inference_steps: 1 }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

/** The `time` of the first JSON log line of `part` matching `pattern`. */
function logTime(r: GatewayRun, part: string, pattern: RegExp): number {
  const line = r
    .output()
    .split("\n")
    .find((l) => l.startsWith(`${part.padEnd(6)} | `) && pattern.test(l));
  if (!line) throw new Error(`no ${part} line matching ${pattern}\n${r.output().slice(-6000)}`);
  return (JSON.parse(line.slice(9)) as { time: number }).time;
}

/** The simulator is generating an image: the job is on the GPU. */
async function imageInFlight(r: GatewayRun): Promise<void> {
  await waitFor(
    async () => {
      const stats = (await (await fetch(`${r.simUrl}/_sim/stats`)).json()) as { inFlight: number };
      return stats.inFlight === 1;
    },
    { timeoutMs: 30_000, what: "an image in flight on the simulator" },
  );
}

describe.skipIf(process.platform !== "linux")("pnpm start stopping", () => {
  it("Ctrl-C with an image in flight: the image succeeds before the worker exits, then the simulator and Redis stop", async () => {
    run = await startGateway({ SIM_BASE_MS: "3000", SHUTDOWN_GRACE_SECONDS: "60" });
    const jobId = await submitJob(run);
    await imageInFlight(run);
    run.signalGroup("SIGINT");
    // The same Ctrl-C forwarded by a wrapper (`npm start` does) is not a second Ctrl-C.
    process.kill(run.child.pid!, "SIGINT");
    await expectStoppedInOrder(run, ORDER, 0);
    expect(run.output()).not.toMatch(/shutdown grace period over|SIGINT again/);
    // The image was still being generated when the worker was told to stop, and finished after.
    const stopping = logTime(run, "worker", /"msg":"worker stopping/);
    // The image request, not the worker's discovery probes of the same routes (answered 4xx at once).
    const imageDone = logTime(
      run,
      "sim",
      /"url":"\/v1\/images[^"]*".*"statusCode":200.*"msg":"request completed"/,
    );
    expect(imageDone).toBeGreaterThan(stopping);
    expect(await jobStatusFromAof(run.dataDir, jobId)).toBe("succeeded");
  }, 150_000);

  it("SIGTERM stops in the same order and leaves nothing", async () => {
    run = await startGateway();
    process.kill(run.child.pid!, "SIGTERM");
    await expectStoppedInOrder(run, ORDER, 0);
  }, 120_000);

  it("a closed terminal (SIGHUP to the group) stops in the same order and leaves nothing", async () => {
    run = await startGateway();
    run.signalGroup("SIGHUP");
    await expectStoppedInOrder(run, ORDER, 0);
  }, 120_000);

  it("when the simulator crashes, the api, worker and Redis are stopped in order", async () => {
    run = await startGateway();
    process.kill(run.pidOf("sim"), "SIGKILL");
    await expectStoppedInOrder(
      run,
      [/^sim exited unexpectedly \(SIGKILL\)/, ...ORDER.filter((p) => !/sim/.test(String(p)))],
      1,
    );
  }, 120_000);

  it("a second Ctrl-C kills the worker at once and still stops the simulator and Redis", async () => {
    run = await startGateway({ SIM_BASE_MS: "120000", SHUTDOWN_GRACE_SECONDS: "600" });
    await submitJob(run);
    await imageInFlight(run);
    run.signalGroup("SIGINT");
    await run.waitForOutput(/"msg":"worker stopping/, 30_000);
    // A user pressing Ctrl-C until it stops: start.ts counts a signal within a second of the last as
    // the same one (a wrapper may forward the terminal's), so it is repeated until it is taken.
    await waitFor(
      () => {
        if (/SIGINT again: stopping at once/.test(run!.output())) return true;
        run!.signalGroup("SIGINT");
        return false;
      },
      { timeoutMs: 30_000, intervalMs: 300, what: "start.ts to take the second Ctrl-C" },
    );
    await expectStoppedInOrder(
      run,
      [
        /^stopping api/,
        /^api stopped/,
        /^stopping worker/,
        /^SIGINT again/,
        /^worker stopped \(SIGKILL\)/,
        /^killing sim/,
        /^sim stopped/,
        /^stopping redis/, // Redis is still asked, so it writes its AOF
        /^redis stopped \(code 0\)/,
      ],
      0,
    );
  }, 120_000);

  it("start.ts killed with SIGKILL: every part still stops, Redis included", async () => {
    run = await startGateway();
    const parts = (["redis", "sim", "worker", "api"] as const).map((p) => run!.pidOf(p));
    // The scan sees the run: start.ts, the four parts and the redis-server under the guard.
    expect(run.leftovers().map((p) => p.pid)).toEqual(expect.arrayContaining([run.child.pid, ...parts]));
    expect(run.leftovers().some((p) => p.command.startsWith("redis-server"))).toBe(true);
    process.kill(run.child.pid!, "SIGKILL");
    await run.exited;
    await waitFor(() => run!.leftovers().length === 0, {
      timeoutMs: 30_000,
      what: "every process of the run to exit",
    }).catch((err: Error) => {
      throw new Error(`${err.message}; left: ${JSON.stringify(run!.leftovers())}`);
    });
  }, 120_000);
});
