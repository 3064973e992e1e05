import { usePrivateRedis } from "@zimage/testkit";
import { describe, expect, it } from "vitest";
import { newJobId } from "../ids";
import {
  countActiveApiKeys,
  createApiKey,
  findApiKey,
  listApiKeys,
  revokeApiKey,
  setApiKeyLimits,
  tokensEqual,
} from "./api-keys";
import { claimIdempotencyKey, releaseIdempotencyKey } from "./idempotency";
import {
  cancelRequestedAt,
  decideJobOutcome,
  readTombstone,
  requestCancel,
  writeTombstone,
} from "./job-cancel";
import { indexJob, listJobIds } from "./job-index";
import { addPending, countPending } from "./pending-jobs";

const redis = usePrivateRedis();

const limits = { rate_per_minute: 60, max_pending: 10, priority_weight: 1 };

describe("API keys", () => {
  it("stores only a hash, finds the key by its token and forgets it once revoked", async () => {
    const { key, record } = await createApiKey(redis.conn, "k", { name: "alice", role: "user", ...limits });
    expect(key).toMatch(/^zk_[a-z0-9]{8}_[A-Za-z0-9_-]{32}$/);
    const dump = JSON.stringify(await redis.conn.hgetall(`k:key:${record.id}`));
    // The secret is base64url and may itself contain "_", so cut it by position.
    const secret = key.slice("zk_".length + 8 + 1);
    expect(secret).toHaveLength(32);
    expect(dump).not.toContain(secret);
    expect((await findApiKey(redis.conn, "k", key))?.name).toBe("alice");
    expect(
      await findApiKey(redis.conn, "k", `${key.slice(0, -1)}${key.endsWith("x") ? "y" : "x"}`),
    ).toBeNull();
    expect(await findApiKey(redis.conn, "k", "not a key")).toBeNull();
    expect(await countActiveApiKeys(redis.conn, "k")).toBe(1);
    expect((await revokeApiKey(redis.conn, "k", record.id))?.revoked_at).toEqual(expect.any(String));
    expect(await findApiKey(redis.conn, "k", key)).toBeNull();
    expect(await countActiveApiKeys(redis.conn, "k")).toBe(0);
    expect((await listApiKeys(redis.conn, "k")).map((r) => r.name)).toEqual(["alice"]);
  });

  it("updates limits", async () => {
    const { record } = await createApiKey(redis.conn, "k2", { name: "bob", role: "admin", ...limits });
    expect(
      await setApiKeyLimits(redis.conn, "k2", record.id, { max_pending: 3, priority_weight: 2 }),
    ).toMatchObject({
      max_pending: 3,
      priority_weight: 2,
      rate_per_minute: 60,
    });
    expect(await setApiKeyLimits(redis.conn, "k2", "zzzzzzzz", { max_pending: 3 })).toBeNull();
  });

  it("compares tokens without regard to where they differ", () => {
    expect(tokensEqual("abc", "abc")).toBe(true);
    expect(tokensEqual("abc", "abd")).toBe(false);
    expect(tokensEqual("abc", "abcd")).toBe(false);
  });
});

describe("job index", () => {
  it("pages newest first with a stable cursor while new jobs arrive", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = newJobId();
      ids.push(id);
      await indexJob(redis.conn, "ix", "alice", id);
    }
    await indexJob(redis.conn, "ix", "bob", newJobId());
    const page1 = await listJobIds(redis.conn, "ix", { owner: "alice", limit: 2 });
    expect(page1).toEqual([ids[4], ids[3]]);
    await indexJob(redis.conn, "ix", "alice", newJobId()); // arrives between pages
    const page2 = await listJobIds(redis.conn, "ix", { owner: "alice", limit: 2, before: page1[1] });
    expect(page2).toEqual([ids[2], ids[1]]);
    expect(await listJobIds(redis.conn, "ix", { owner: null, limit: 100 })).toHaveLength(7);
    expect(
      await listJobIds(redis.conn, "ix", { owner: "alice", limit: 10, min: ids[3], before: page1[0] }),
    ).toEqual([ids[3]]);
  });
});

describe("pending jobs", () => {
  it("counts an owner's pending jobs and prunes ones that ended", async () => {
    for (const id of ["a", "b", "c"]) await addPending(redis.conn, "p", "u", id);
    expect(await countPending(redis.conn, "p", "u", async (ids) => ids.map((id) => id !== "b"))).toBe(2);
    expect(await countPending(redis.conn, "p", "u", async (ids) => ids.map(() => true))).toBe(2);
  });
});

describe("idempotency", () => {
  it("claims a key once and reports the job that holds it", async () => {
    expect(await claimIdempotencyKey(redis.conn, "i", "u", "k1", "JOB1", "fp1")).toEqual({ claimed: true });
    expect(await claimIdempotencyKey(redis.conn, "i", "u", "k1", "JOB2", "fp2")).toEqual({
      claimed: false,
      jobId: "JOB1",
      fingerprint: "fp1",
      submitting: true,
      claimedAt: expect.any(Number),
      record: expect.any(String),
    });
    expect(await claimIdempotencyKey(redis.conn, "i", "other", "k1", "JOB3", "fp1")).toEqual({
      claimed: true,
    });
    await releaseIdempotencyKey(redis.conn, "i", "u", "k1");
    expect(await claimIdempotencyKey(redis.conn, "i", "u", "k1", "JOB4", "fp1")).toEqual({ claimed: true });
  });
});

describe("cancel records", () => {
  it("keeps a cancel flag and a tombstone", async () => {
    expect(await cancelRequestedAt(redis.conn, "c", "J")).toBeNull();
    await requestCancel(redis.conn, "c", "J", 60);
    expect(await cancelRequestedAt(redis.conn, "c", "J")).toEqual(expect.any(Number));
    const tomb = {
      data: { kind: "generate" as const, owner: "u", params: {} as never },
      timestamp: 1,
      canceledAt: 2,
    };
    await writeTombstone(redis.conn, "c", "J", tomb, 60);
    expect(await readTombstone(redis.conn, "c", "J")).toEqual(tomb);
  });
});

describe("outcome decision", () => {
  it("lets exactly one of a cancel and a completion win, whichever comes first", async () => {
    // cancel first: the completion loses, and asking again keeps the first cancel's time
    const first = await requestCancel(redis.conn, "d", "A", 60);
    expect(first).toMatchObject({ canceled: true });
    expect(await decideJobOutcome(redis.conn, "d", "A", "succeeded", 60)).toBe(false);
    expect(await requestCancel(redis.conn, "d", "A", 60)).toEqual(first);
    expect(await cancelRequestedAt(redis.conn, "d", "A")).toBe((first as { at: number }).at);
    // completion first: the cancel is refused and no cancel time is reported
    expect(await decideJobOutcome(redis.conn, "d", "B", "succeeded", 60)).toBe(true);
    expect(await requestCancel(redis.conn, "d", "B", 60)).toEqual({ canceled: false, decided: "succeeded" });
    expect(await cancelRequestedAt(redis.conn, "d", "B")).toBeNull();
    // a re-run after a lost lock may decide again; only a cancel stops it
    expect(await decideJobOutcome(redis.conn, "d", "B", "failed", 60)).toBe(true);
  });

  it("under concurrency, every pair of cancel and completion has one winner", async () => {
    const ids = Array.from({ length: 50 }, (_, i) => `R${i}`);
    const results = await Promise.all(
      ids.map(async (id, i) => {
        const [cancel, complete] =
          i % 2 === 0
            ? await Promise.all([
                requestCancel(redis.conn, "e", id, 60),
                decideJobOutcome(redis.conn, "e", id, "succeeded", 60),
              ])
            : await Promise.all([
                decideJobOutcome(redis.conn, "e", id, "succeeded", 60).then(
                  async (c) => [await requestCancel(redis.conn, "e", id, 60), c] as const,
                ),
              ]).then(([[c, d]]) => [c, d] as const);
        return { canceled: cancel.canceled, completed: complete };
      }),
    );
    for (const r of results) expect(r.canceled).toBe(!r.completed);
  });
});
