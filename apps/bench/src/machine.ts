import { execFileSync } from "node:child_process";
import { cpus, totalmem, type } from "node:os";

export function machine(): string {
  const redis = (() => {
    try {
      return /v=(\S+)/.exec(execFileSync("redis-server", ["--version"], { encoding: "utf8" }))?.[1] ?? "?";
    } catch {
      // A probe whose failure is the answer: the report says the Redis version is unknown.
      return "?";
    }
  })();
  const cpu = cpus();
  return `${cpu.length} × ${cpu[0]?.model.trim() ?? "?"}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${type()}, Node ${process.versions.node}, Redis ${redis}`;
}
