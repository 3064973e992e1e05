import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "./logger";

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger({ level: "info", name: "t", destination }), text: () => lines.join("") };
}

describe("logger redaction", () => {
  it("drops the arguments of a failed Redis command (a webhook secret being stored), keeps its name", () => {
    const { logger, text } = capture();
    const err = Object.assign(new Error("OOM command not allowed"), {
      command: { name: "set", args: ["zimage:webhook-secret:k1", "whsec_c2VjcmV0LXNlY3JldA==", "NX"] },
    });
    logger.error({ err }, "internal error");
    expect(text()).not.toContain("whsec_");
    expect(text()).toContain('"name":"set"');
  });

  it("drops authorization headers and cookies", () => {
    const { logger, text } = capture();
    logger.info(
      { req: { headers: { authorization: "Bearer zk_secret", cookie: "zg_session=abc" } } },
      "request",
    );
    expect(text()).not.toContain("zk_secret");
    expect(text()).not.toContain("zg_session=abc");
  });

  // pino 10 swapped its redaction engine (fast-redact → @pinojs/redact): every REDACT_PATHS form —
  // quoted and bracketed keys, leading wildcards — must still match.
  it("drops x-api-key and set-cookie headers and the apiKey, secret and password fields of any logged object", () => {
    const { logger, text } = capture();
    logger.info(
      {
        req: { headers: { "x-api-key": "XKEY-secret" } },
        res: { headers: { "set-cookie": "zg_session=def" } },
      },
      "request",
    );
    logger.info({
      upstream: { apiKey: "AKEY-secret", secret: "SEC-secret", password: "PW-secret", name: "gpu0" },
    });
    for (const secret of ["XKEY-secret", "zg_session=def", "AKEY-secret", "SEC-secret", "PW-secret"]) {
      expect(text()).not.toContain(secret);
    }
    // Censored in place, not dropped with their objects: a reader still sees which fields were there.
    const [request, upstream] = text()
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, Record<string, Record<string, string>>>);
    expect(request?.req?.headers?.["x-api-key"]).toBe("[redacted]");
    expect(request?.res?.headers?.["set-cookie"]).toBe("[redacted]");
    expect(upstream?.upstream).toEqual({
      apiKey: "[redacted]",
      secret: "[redacted]",
      password: "[redacted]",
      name: "gpu0",
    });
  });
});
