import { appendFile, mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { Cluster } from "@zimage/test-cluster";
import { waitFor } from "@zimage/testkit";
import type { RequestRecord } from "@zimage/zimage-sim";

/** One row of docs/reliability.md's table. */
export interface ChaosResult {
  fault: string;
  happened: string;
  submitted: number;
  acknowledged: number;
  completed: number;
  lost: number;
  /** Acknowledged jobs that exist twice (a retried submit queued again; must be 0). */
  duplicatedJobs: number;
  /** Image requests the GPU ran more than once for the same job (a crash mid-request causes these). */
  upstreamDuplicates: number;
  /** The most image requests the GPU had open at once: the gateway's promise is 1. */
  gpuMaxInFlight: number;
  seconds: number;
}

const RESULTS = resolve(import.meta.dirname, "../../../.data/chaos/results.jsonl");

export async function record(result: ChaosResult): Promise<void> {
  await mkdir(dirname(RESULTS), { recursive: true });
  await appendFile(RESULTS, `${JSON.stringify({ ...result, at: new Date().toISOString() })}\n`);
  process.stdout.write(`CHAOS ${JSON.stringify(result)}\n`);
}

export interface Submission {
  prompt: string;
  id: string | null;
  /** Answers other than 202 seen while submitting it (503s while Redis is down, connection errors). */
  refusals: string[];
  /** Slowest single attempt, ms: the api must answer promptly even while a dependency is down. */
  slowestMs: number;
}

/**
 * Submits `n` jobs, each with a unique prompt and its own Idempotency-Key, retrying refusals and lost
 * connections the way a careful client does, so every job is acknowledged exactly once.
 */
export async function submitAll(
  cluster: Cluster,
  n: number,
  opts: {
    key?: string;
    concurrency?: number;
    /** Pause between one lane's submits, so the run spans the fault instead of finishing first. */
    paceMs?: number;
    body?: (i: number) => Record<string, unknown>;
    deadlineMs?: number;
  } = {},
): Promise<Submission[]> {
  const out: Submission[] = Array.from({ length: n }, (_, i) => ({
    prompt: `chaos ${Date.now()} #${i}`,
    id: null,
    refusals: [],
    slowestMs: 0,
  }));
  const deadline = Date.now() + (opts.deadlineMs ?? 60_000);
  let next = 0;
  const lane = async () => {
    while (next < n) {
      if (next > 0 && opts.paceMs) await new Promise((r) => setTimeout(r, opts.paceMs));
      if (next >= n) break;
      const s = out[next++]!;
      const i = out.indexOf(s);
      while (s.id === null && Date.now() < deadline) {
        const started = Date.now();
        try {
          const res = await fetch(`${cluster.apiUrl}/v1/jobs`, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              "idempotency-key": `chaos-${s.prompt.replace(/[^A-Za-z0-9]+/g, "-")}`,
              ...(opts.key ? { authorization: `Bearer ${opts.key}` } : {}),
            },
            body: JSON.stringify({ prompt: s.prompt, size: "128x128", ...opts.body?.(i) }),
            signal: AbortSignal.timeout(10_000),
          });
          s.slowestMs = Math.max(s.slowestMs, Date.now() - started);
          if (res.status === 202 || res.status === 200) {
            s.id = ((await res.json()) as { id: string }).id;
          } else {
            s.refusals.push(
              `${res.status} ${((await res.json().catch(() => ({}))) as { error?: { code?: string } }).error?.code}`,
            );
            await new Promise((r) => setTimeout(r, 200));
          }
        } catch (err) {
          if ((err as Error).message.startsWith("submit refused")) throw err;
          s.slowestMs = Math.max(s.slowestMs, Date.now() - started);
          s.refusals.push(
            `connection: ${(err as Error).message} ${((err as Error).cause as Error | undefined)?.message ?? ""}`,
          );
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 4 }, lane));
  if (process.env.CHAOS_DEBUG)
    console.log(
      "REFUSALS",
      out.slice(0, 3).map((s) => s.refusals.slice(0, 3)),
    );
  return out;
}

/** Waits until every acknowledged job has finished (or the deadline), and returns their statuses. */
export async function settle(
  cluster: Cluster,
  subs: Submission[],
  opts: { key?: string; timeoutMs?: number } = {},
): Promise<Map<string, string>> {
  const statuses = new Map<string, string>();
  const pending = new Set(subs.map((s) => s.id).filter((id): id is string => id !== null));
  await waitFor(
    async () => {
      for (const id of [...pending]) {
        try {
          const res = await fetch(`${cluster.apiUrl}/v1/jobs/${id}`, {
            headers: opts.key ? { authorization: `Bearer ${opts.key}` } : {},
            signal: AbortSignal.timeout(5_000),
          });
          if (!res.ok) continue;
          const view = (await res.json()) as { status: string };
          statuses.set(id, view.status);
          if (["succeeded", "failed", "canceled"].includes(view.status)) pending.delete(id);
        } catch {
          // the api may be restarting
        }
      }
      return pending.size === 0;
    },
    { timeoutMs: opts.timeoutMs ?? 180_000, intervalMs: 250, what: "every acknowledged job to finish" },
  ).catch(() => {});
  return statuses;
}

/** Image requests per prompt at the simulator(s): more than one means the GPU ran the job again. */
export function upstreamDuplicates(records: RequestRecord[], subs: Submission[]): number {
  const counts = new Map<string, number>();
  for (const r of records)
    if (r.prompt && r.path.includes("images")) counts.set(r.prompt, (counts.get(r.prompt) ?? 0) + 1);
  return subs.reduce((sum, s) => sum + Math.max(0, (counts.get(s.prompt) ?? 0) - 1), 0);
}

/** Jobs whose result was written more than once: each owner must have exactly one job per prompt. */
export async function duplicatedJobs(cluster: Cluster, subs: Submission[], key?: string): Promise<number> {
  const perPrompt = new Map<string, number>();
  let cursor: string | null = null;
  do {
    const res: Response = await fetch(
      `${cluster.apiUrl}/v1/jobs?limit=100${cursor ? `&cursor=${cursor}` : ""}`,
      { headers: key ? { authorization: `Bearer ${key}` } : {} },
    );
    const page = (await res.json()) as {
      data: Array<{ params: { prompt: string } }>;
      next_cursor: string | null;
      has_more: boolean;
    };
    for (const j of page.data) perPrompt.set(j.params.prompt, (perPrompt.get(j.params.prompt) ?? 0) + 1);
    cursor = page.has_more ? page.next_cursor : null;
  } while (cursor);
  return subs.reduce((sum, s) => sum + Math.max(0, (perPrompt.get(s.prompt) ?? 0) - 1), 0);
}

export function summarise(
  fault: string,
  happened: string,
  subs: Submission[],
  statuses: Map<string, string>,
  started: number,
) {
  const acknowledged = subs.filter((s) => s.id !== null).length;
  const completed = [...statuses.values()].filter((s) => s === "succeeded").length;
  return {
    fault,
    happened,
    submitted: subs.length,
    acknowledged,
    completed,
    lost: acknowledged - completed,
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
}

/**
 * A scenario's row: the summary, acknowledged jobs found twice through the api, and what the GPU
 * saw (by default the cluster's simulator; a scenario that replaced it passes what it collected).
 */
export async function resultOf(
  cluster: Cluster,
  fault: string,
  happened: string,
  subs: Submission[],
  statuses: Map<string, string>,
  started: number,
  gpu: { requests: RequestRecord[]; maxInFlight: number } = cluster.sims[0]!.stats(),
): Promise<ChaosResult> {
  return {
    ...summarise(fault, happened, subs, statuses, started),
    duplicatedJobs: await duplicatedJobs(cluster, subs),
    upstreamDuplicates: upstreamDuplicates(gpu.requests, subs),
    gpuMaxInFlight: gpu.maxInFlight,
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
