import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Issue #17, DNS rebinding: a webhook host that answers public for the SSRF check and loopback for the
 * connection must not reach loopback. Runs the delivery in a network namespace made here with only
 * loopback, so not one packet can leave the machine: the "public" answer is unreachable there.
 */
const run = promisify(execFile);
const ns = `zimage-rebind-${process.pid}-${randomBytes(3).toString("hex")}`;
const child = resolve(import.meta.dirname, "webhook-rebinding-child.ts");

async function makeNamespace(): Promise<string | null> {
  try {
    await run("ip", ["netns", "add", ns]);
  } catch (err) {
    return `network namespaces cannot be made here (${(err as Error).message.split("\n")[0]})`;
  }
  await run("ip", ["-n", ns, "link", "set", "lo", "up"]);
  return null;
}

const cannot = await makeNamespace();
if (cannot) console.warn(`skipping the DNS rebinding test: ${cannot}; it needs root and iproute2`);

afterAll(async () => {
  if (!cannot) await run("ip", ["netns", "del", ns]);
});

describe.skipIf(cannot !== null)("webhook delivery against DNS rebinding (in a loopback-only netns)", () => {
  beforeAll(async () => {
    // The isolation the test relies on: loopback is the only link, and no route leads anywhere.
    const links = (await run("ip", ["-n", ns, "-o", "link", "show"])).stdout.trim().split("\n");
    expect(links.map((l) => l.split(":")[1]?.trim())).toEqual(["lo"]);
    expect((await run("ip", ["-n", ns, "route", "show", "table", "main"])).stdout.trim()).toBe("");
    expect((await run("ip", ["-n", ns, "-6", "route", "show", "table", "main"])).stdout).not.toMatch(
      /default/,
    );
  });

  it("connects only to an address the guard allows: the rebound loopback receiver gets nothing", async () => {
    const { stdout } = await run("ip", ["netns", "exec", ns, process.execPath, "--import", "tsx", child], {
      cwd: resolve(import.meta.dirname, ".."),
      timeout: 45_000,
    });
    const out = JSON.parse(stdout.trim().split("\n").at(-1)!);
    // The hook reproduces the attack: unchecked, the connection's own lookup reached loopback.
    expect(out.unguarded).toMatchObject({
      statusCode: 204,
      received: 1,
      answers: ["93.184.216.34", "127.0.0.1"],
    });
    // The sender's attempt: the check saw public, the connection's lookup saw loopback and refused it,
    // and the deliveries log gets the uniform refusal, not the address (and no retry: it is final).
    expect(out.guarded).toMatchObject({
      statusCode: null,
      error: "refused by the SSRF guard",
      final: true,
      answers: ["93.184.216.34", "127.0.0.1"],
    });
    // A name that stays public is connected to at that address, which fails here (no route).
    expect(out.toPublic).toMatchObject({ statusCode: null, final: false });
    expect(out.toPublic.error).toMatch(/ENETUNREACH|EHOSTUNREACH|93\.184\.216\.34/);
    // Only the unguarded request ever reached the receiver.
    expect(out.received).toEqual(["POST /hook"]);
  });
});
