import { describe, expect, it } from "vitest";
import { redactRequestTarget, redactUrl } from "./redact-url";

describe("redactRequestTarget", () => {
  it.each([
    [
      "/v1/jobs/01K/images/0?expires=1700000000&sig=abc_DEF-123",
      "/v1/jobs/01K/images/0?expires=1700000000&sig=[redacted]",
    ],
    [
      "/x?access_token=t0k&api_key=k3y&SIGNATURE=s&password=p",
      "/x?access_token=[redacted]&api_key=[redacted]&SIGNATURE=[redacted]&password=[redacted]",
    ],
    ["/x?si%67=abc", "/x?si%67=[redacted]"],
    ["/x?sig=a&sig=b", "/x?sig=[redacted]&sig=[redacted]"],
    ["/v1/jobs?limit=10&cursor=abc%20d", "/v1/jobs?limit=10&cursor=abc%20d"],
    ["/v1/jobs/%zz?%zz=1&sig", "/v1/jobs/%zz?%zz=1&sig"],
    ["/v1/jobs", "/v1/jobs"],
  ])("%s → %s", (target, logged) => {
    expect(redactRequestTarget(target)).toBe(logged);
  });
});

describe("redactUrl", () => {
  it("hides a URL's password and secret query values", () => {
    expect(redactUrl("redis://:hunter2@redis:6379/0")).toBe("redis://:redacted@redis:6379/0");
    expect(redactUrl("rediss://user:hunter2@redis:6380?token=t")).toBe(
      "rediss://user:redacted@redis:6380?token=[redacted]",
    );
    expect(redactUrl("redis://127.0.0.1:6379")).toBe("redis://127.0.0.1:6379");
    expect(redactUrl("not a url :hunter2")).toBe("[redacted]");
  });
});
