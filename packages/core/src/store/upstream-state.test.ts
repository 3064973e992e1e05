import { usePrivateRedis } from "@zimage/testkit";
import { expect, it } from "vitest";
import {
  countUpstreamEvent,
  readUpstreamStates,
  registerUpstream,
  updateUpstreamState,
} from "./upstream-state";

const redis = usePrivateRedis();

it("records and reads back each upstream's state", async () => {
  expect(await readUpstreamStates(redis.conn, "s")).toEqual([]);
  await registerUpstream(redis.conn, "s", "gpu1", "http://b:8003");
  await registerUpstream(redis.conn, "s", "gpu0", "http://a:8003");
  await updateUpstreamState(redis.conn, "s", "gpu0", {
    up: true,
    model_loaded: false,
    busy: true,
    current_job: "J1",
  });
  await countUpstreamEvent(redis.conn, "s", "gpu0", "jobs_done");
  await countUpstreamEvent(redis.conn, "s", "gpu0", "jobs_done");
  await updateUpstreamState(redis.conn, "s", "gpu0", { busy: false, current_job: null, models: ["z1"] });
  const [gpu0, gpu1] = await readUpstreamStates(redis.conn, "s");
  expect(gpu0).toMatchObject({
    name: "gpu0",
    url: "http://a:8003",
    up: true,
    model_loaded: false,
    busy: false,
    current_job: null,
    jobs_done: 2,
    models: ["z1"],
  });
  expect(gpu1).toMatchObject({
    name: "gpu1",
    up: null,
    model_loaded: null,
    jobs_done: 0,
    unloads: 0,
    models: null,
  });
});
