import { describe, expect, it } from "vitest";
import { ResultUrlSigner } from "./result-url-signer";

describe("ResultUrlSigner", () => {
  const signer = new ResultUrlSigner("x".repeat(32));
  const params = (q: string) =>
    Object.fromEntries(new URLSearchParams(q)) as { expires: string; sig: string };

  it("accepts its own signature until it expires", () => {
    const { expires, sig } = params(signer.sign("JOB", 0, 2_000));
    expect(signer.verify("JOB", 0, expires, sig, 1_999)).toBe("ok");
    expect(signer.verify("JOB", 0, expires, sig, 2_001)).toBe("expired");
  });

  it("rejects another job, another image, a changed expiry, a tampered signature or another secret", () => {
    const { expires, sig } = params(signer.sign("JOB", 0, 2_000));
    expect(signer.verify("OTHER", 0, expires, sig, 0)).toBe("invalid");
    expect(signer.verify("JOB", 1, expires, sig, 0)).toBe("invalid");
    expect(signer.verify("JOB", 0, "3000", sig, 0)).toBe("invalid");
    expect(signer.verify("JOB", 0, expires, `${sig.slice(0, -1)}${sig.endsWith("A") ? "B" : "A"}`, 0)).toBe(
      "invalid",
    );
    expect(signer.verify("JOB", 0, expires, "short", 0)).toBe("invalid");
    expect(new ResultUrlSigner("y".repeat(32)).verify("JOB", 0, expires, sig, 0)).toBe("invalid");
  });
});
