import type { LookupAddress } from "node:dns";
import { describe, expect, it } from "vitest";
import { guardedLookup, isSsrfRefusal } from "./webhook-guarded-lookup";

const strict = { allowPrivate: false, allowlist: [] };
const answering =
  (...addresses: string[]) =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));

/** Calls the lookup as net.connect does and returns what it called back with. */
function lookupWith(lookup: ReturnType<typeof guardedLookup>, all: boolean) {
  return new Promise<{ err: Error | null; address: string | LookupAddress[] }>((done) =>
    lookup("hooks.example", { all }, (err, address) => done({ err, address })),
  );
}

describe("guardedLookup", () => {
  it.each([
    ["loopback", ["127.0.0.1"]],
    ["IPv4-compatible loopback", ["::7f00:1"]],
    ["metadata", ["169.254.169.254"]],
    ["a public and a private answer", ["93.184.216.34", "10.0.0.1"]],
  ])("refuses a name that resolves to %s, for both lookup forms", async (_what, addresses) => {
    for (const all of [true, false]) {
      const { err } = await lookupWith(guardedLookup(strict, answering(...addresses)), all);
      expect(isSsrfRefusal(err)).toBe(true);
    }
  });

  it("passes public answers on, in the form net.connect asked for", async () => {
    const lookup = guardedLookup(strict, answering("93.184.216.34", "2606:4700::1"));
    expect(await lookupWith(lookup, true)).toEqual({
      err: null,
      address: [
        { address: "93.184.216.34", family: 4 },
        { address: "2606:4700::1", family: 6 },
      ],
    });
    expect(await lookupWith(lookup, false)).toEqual({ err: null, address: "93.184.216.34" });
  });

  it("lets a host the operator trusts through", async () => {
    const lookup = guardedLookup(
      { allowPrivate: false, allowlist: ["hooks.example"] },
      answering("10.0.0.1"),
    );
    expect(await lookupWith(lookup, false)).toEqual({ err: null, address: "10.0.0.1" });
  });
});
