import { describe, expect, it } from "vitest";
import { forbiddenAddressRange } from "./webhook-address";

// Each IPv6 form that carries an IPv4 address is judged by that IPv4 (issue #17): loopback, link-local
// (cloud metadata) and private inside are refused, public inside is allowed.
const refused: [string, string][] = [
  ["127.0.0.1", "loopback"],
  ["169.254.169.254", "linkLocal"],
  ["10.1.2.3", "private"],
  ["100.64.0.1", "carrierGradeNat"],
  ["0.0.0.0", "unspecified"],
  ["255.255.255.255", "broadcast"],
  ["224.0.0.1", "multicast"],
  ["240.0.0.1", "reserved"],
  ["::1", "loopback"],
  ["::", "unspecified"],
  ["fe80::1", "linkLocal"],
  ["fd00::1", "uniqueLocal"],
  ["ff02::1", "multicast"],
  // IPv4-compatible ::/96 (passed the guard before issue #17)
  ["::7f00:1", "loopback"],
  ["::127.0.0.1", "loopback"],
  ["::a9fe:a9fe", "linkLocal"],
  ["::a00:1", "private"],
  // IPv4-mapped ::ffff:0:0/96 and IPv4-translated ::ffff:0:0:0/96
  ["::ffff:127.0.0.1", "loopback"],
  ["::ffff:a9fe:a9fe", "linkLocal"],
  ["::ffff:0:7f00:1", "loopback"],
  // NAT64 well-known 64:ff9b::/96, and local-use 64:ff9b:1::/48 at each RFC 6052 position
  ["64:ff9b::7f00:1", "loopback"],
  ["64:ff9b::169.254.169.254", "linkLocal"],
  // (local-use: the IPv4 at every position must be public, so these name the first that is not)
  ["64:ff9b:1::7f00:1", "inside"], // /96 127.0.0.1
  ["64:ff9b:1:7f00:1::", "loopback"], // /48: bits 48–63 and 72–87
  ["64:ff9b:1:808:a:a00:0:808", "private"], // /64: bits 72–103 (10.10.0.0)
  // 6to4 2002::/16: the IPv4 is bits 16–47
  ["2002:7f00:1::1", "loopback"],
  ["2002:a9fe:a9fe::", "linkLocal"],
  ["2002:c0a8:0101::1", "private"],
  // Teredo 2001::/32: server bits 32–63, client the last 32 bits inverted
  ["2001:0:808:808:0:0:80ff:fffe", "loopback"], // server 8.8.8.8, client 127.0.0.1
  ["2001:0:808:808:0:0:5601:5601", "linkLocal"], // client 169.254.169.254
  ["2001:0:7f00:1:0:0:f7f7:f7f7", "loopback"], // server 127.0.0.1, client 8.8.8.8
  // Documentation and benchmarking ranges are not public either.
  ["2001:db8::1", "reserved"],
  ["192.0.2.1", "reserved"],
];

const allowed = [
  "8.8.8.8",
  "93.184.216.34",
  "2606:4700:4700::1111",
  "::808:808", // IPv4-compatible 8.8.8.8
  "::ffff:8.8.8.8",
  "64:ff9b::808:808",
  "64:ff9b:1:808:8:808:808:808", // 8.8.8.8 at each position a local-use /48 allows
  "2002:808:808::1",
  "2001:0:808:808:0:0:f7f7:f7f7", // server and client 8.8.8.8
];

describe("forbiddenAddressRange", () => {
  it.each(refused)("refuses %s (%s)", (address, range) => {
    expect(forbiddenAddressRange(address)).toContain(range);
  });

  it.each(allowed.map((a) => [a]))("allows %s", (address) => {
    expect(forbiddenAddressRange(address)).toBeNull();
  });

  it("refuses what is not an address", () => {
    expect(forbiddenAddressRange("example.com")).toBe("not an IP address");
  });
});
