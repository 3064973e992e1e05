import { usePrivateRedis } from "@zimage/testkit";
import { expect, it } from "vitest";
import { readJobStates } from "./job-states";

const redis = usePrivateRedis();

it("reads a running job stopped by its deadline as asked to cancel, like one its owner canceled", async () => {
  const q = "js:generate:";
  for (const id of ["owner", "deadline", "none"]) await redis.conn.lpush(`${q}active`, id);
  await redis.conn.set("js:job:owner:cancel", "1700000000000");
  await redis.conn.set("js:job:deadline:cancel", "1700000000000:deadline_exceeded");
  const rows = await readJobStates(redis.conn, "js", ["owner", "deadline", "none"]);
  expect(rows.map((r) => [r.state, r.cancelRequested])).toEqual([
    ["active", true],
    ["active", true],
    ["active", false],
  ]);
});
