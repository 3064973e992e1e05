import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { FilesystemStore } from "./filesystem-store";
import { deleteJobFiles } from "./job-files";

let root: string;
let store: FilesystemStore;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), "zimage-job-files-"));
  store = new FilesystemStore({ root });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

it("never rejects, and hands each prefix it could not delete to onError", async () => {
  const failures: Array<{ err: unknown; context: { jobId: string; prefix: string } }> = [];
  // A job id that is not a key segment: the store refuses both prefixes.
  await deleteJobFiles(store, "..", (err, context) => failures.push({ err, context }));
  expect(failures.map((f) => f.context)).toEqual([
    { jobId: "..", prefix: "results/../" },
    { jobId: "..", prefix: "inputs/../" },
  ]);
  expect(failures[0]?.err).toBeInstanceOf(Error);
});

it("deletes a job's results and input without calling onError", async () => {
  await store.put("results/J1/0.png", Buffer.from("png"));
  await store.put("inputs/J1/input.png", Buffer.from("png"));
  const failures: unknown[] = [];
  await deleteJobFiles(store, "J1", (err) => failures.push(err));
  expect(failures).toEqual([]);
  expect(await store.exists("results/J1/0.png")).toBe(false);
  expect(await store.exists("inputs/J1/input.png")).toBe(false);
});
