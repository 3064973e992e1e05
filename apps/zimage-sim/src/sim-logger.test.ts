import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { type RunningSimulator, startSimulator } from "./simulator";

let sim: RunningSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

/** A logger at debug whose lines a test reads back as objects. */
function capturedLogger() {
  const lines: Array<{ level: number; req?: { method: string; url: string }; res?: { statusCode: number } }> =
    [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: "debug" }, destination), lines };
}

const levelOf = (lines: ReturnType<typeof capturedLogger>["lines"], method: string, url: string) =>
  lines.filter((l) => l.req?.method === method && l.req.url === url).map((l) => l.level);

describe("simulator request logging", () => {
  it("logs the gateway's polling (health, status, models) at debug and image requests at info", async () => {
    const { logger, lines } = capturedLogger();
    sim = await startSimulator({ loadMs: 5, baseMs: 5, msPerStepMegapixel: 0, logger });
    for (const path of ["/health", "/v1/internal/status", "/v1/models"]) {
      expect((await fetch(`${sim.url}${path}`)).status).toBe(200);
    }
    const image = await fetch(`${sim.url}/v1/images/generations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "a line at info", size: "128x128" }),
    });
    expect(image.status).toBe(200);
    expect((await fetch(`${sim.url}/no-such-route`)).status).toBe(404);
    // pino levels: 20 debug, 30 info, 40 warn.
    expect(levelOf(lines, "GET", "/health")).toEqual([20]);
    expect(levelOf(lines, "GET", "/v1/internal/status")).toEqual([20]);
    expect(levelOf(lines, "GET", "/v1/models")).toEqual([20]);
    expect(levelOf(lines, "POST", "/v1/images/generations")).toEqual([30]);
    expect(levelOf(lines, "GET", "/no-such-route")).toEqual([40]);
  });

  it("reads LOG_PRETTY like the gateway does", async () => {
    const { loadSimulatorConfig } = await import("./config");
    expect(loadSimulatorConfig({}).logPretty).toBe(false);
    expect(loadSimulatorConfig({ LOG_PRETTY: "true" }).logPretty).toBe(true);
    expect(() => loadSimulatorConfig({ LOG_PRETTY: "maybe" })).toThrow(
      /LOG_PRETTY="maybe": must be true or false/,
    );
  });
});
