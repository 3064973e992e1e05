import { createHash } from "node:crypto";
import { readdir } from "node:fs/promises";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { type Cluster, startCluster } from "@zimage/test-cluster";
import { makePng, type PrivateS3, pngSize, S3RVER_CREDENTIALS, startS3, waitFor } from "@zimage/testkit";
import { afterEach, expect, it } from "vitest";

/**
 * Issue #18 (1): with STORAGE=s3 the api and the worker keep inputs and results in the bucket, not
 * on a shared disk: a job runs end to end against s3rver, its image is served through the signed
 * URL, and DELETE and the RESULT_TTL sweeper remove its objects.
 */
let cluster: Cluster | undefined;
let s3: PrivateS3 | undefined;
let client: S3Client | undefined;
afterEach(async () => {
  await cluster?.stop();
  client?.destroy();
  await s3?.stop();
  cluster = undefined;
  s3 = undefined;
  client = undefined;
});

async function start(
  env: Record<string, string> = {},
): Promise<{ cluster: Cluster; keys: () => Promise<string[]> }> {
  s3 = await startS3();
  client = new S3Client({
    endpoint: s3.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
  });
  cluster = await startCluster({ env: { ...s3.env, S3_PREFIX: "gw", ...env } });
  const bucket = s3.bucket;
  const c = client;
  const keys = async () =>
    ((await c.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key!).sort();
  return { cluster, keys };
}

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

it("runs a generation and an edit with inputs and results in S3, serves them signed, and DELETE removes them", async () => {
  const { cluster, keys } = await start();
  const generated = await cluster.waitFor(
    await cluster.submit({ prompt: "a bucket of paint", size: "256x256" }),
    ["succeeded"],
  );
  const edited = await cluster.waitFor(
    await cluster.submitEdit({ prompt: "repaint it", size: "256x256" }, makePng(128, 96, 5)),
    ["succeeded"],
  );

  const objects = await keys();
  expect(objects).toHaveLength(3);
  expect(objects).toContain(`gw/inputs/${edited.id}/input.png`);
  for (const job of [generated, edited]) {
    const result = new RegExp(`^gw/results/${job.id}/\\d+-0\\.png$`);
    expect(objects.filter((k) => result.test(k))).toHaveLength(1);
  }
  // Nothing went to the local data directory.
  expect(await readdir(cluster.dataDir, { recursive: true })).toEqual([]);

  for (const job of [generated, edited]) {
    const image = job.result!.images[0]!;
    const res = await fetch(image.url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    const body = Buffer.from(await res.arrayBuffer());
    expect(Number(res.headers.get("content-length"))).toBe(body.length);
    expect(sha256(body)).toBe(image.sha256);
    expect(pngSize(body)).toEqual({ width: 256, height: 256 });
    const key = objects.find((k) => k.startsWith(`gw/results/${job.id}/`));
    const stored = await client!.send(new GetObjectCommand({ Bucket: s3!.bucket, Key: key }));
    expect(Buffer.from(await stored.Body!.transformToByteArray()).equals(body)).toBe(true);
    expect(stored.ContentType).toBe("image/png");
  }

  expect((await cluster.request("DELETE", `/v1/jobs/${edited.id}`)).status).toBe(204);
  expect((await keys()).filter((k) => k.includes(edited.id))).toEqual([]);
  expect((await keys()).filter((k) => k.includes(generated.id))).toHaveLength(1);
  expect((await fetch(edited.result!.images[0]!.url)).status).toBe(410);
  expect((await fetch(generated.result!.images[0]!.url)).status).toBe(200);
});

it("the RESULT_TTL sweeper removes a job's objects from S3", async () => {
  const { cluster, keys } = await start({ RESULT_TTL: "2", SWEEP_INTERVAL_SECONDS: "0.3" });
  const job = await cluster.waitFor(
    await cluster.submitEdit({ prompt: "short-lived", size: "256x256" }, makePng(64, 64, 2)),
    ["succeeded"],
  );
  expect((await keys()).filter((k) => k.includes(job.id))).toHaveLength(2);
  await waitFor(async () => (await keys()).length === 0, {
    timeoutMs: 20_000,
    what: "the sweeper to empty the bucket",
  });
  // The sweeper deletes the objects first, then marks the job gone.
  await waitFor(async () => (await cluster.request("GET", `/v1/jobs/${job.id}`)).status === 410, {
    what: "the swept job to read 410",
  });
});

it("with S3_RESULT_DELIVERY=redirect, a signed image URL answers 302 to a presigned URL of the bucket", async () => {
  const { cluster } = await start({ S3_RESULT_DELIVERY: "redirect", S3_PRESIGN_SECONDS: "60" });
  const job = await cluster.waitFor(
    await cluster.submit({ prompt: "straight from the bucket", size: "256x256" }),
    ["succeeded"],
  );
  const image = job.result!.images[0]!;
  const answer = await fetch(image.url, { redirect: "manual" });
  expect(answer.status).toBe(302);
  expect(answer.headers.get("cache-control")).toBe("no-store");
  const location = new URL(answer.headers.get("location")!);
  expect(location.origin).toBe(new URL(s3!.endpoint).origin);
  expect(location.searchParams.get("X-Amz-Expires")).toBe("60");
  // The bucket serves the stored bytes to whoever holds the presigned URL, without the API key.
  const bytes = Buffer.from(await (await fetch(location)).arrayBuffer());
  expect(sha256(bytes)).toBe(image.sha256);
  expect(pngSize(bytes)).toEqual({ width: 256, height: 256 });
});
