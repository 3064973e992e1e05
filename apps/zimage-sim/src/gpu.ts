import type { Faults } from "./faults";

export interface RequestRecord {
  id: number;
  path: string;
  arrivedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  status: number | "dropped" | null;
  prompt: string | null;
  size: string | null;
}

/** The reference server's two models (shared/zimage-api.md, "two pipelines that evict each other"). */
export type PipelineKind = "t2i" | "edit";

export interface SimulatorStats {
  modelLoaded: boolean;
  loading: boolean;
  busy: boolean;
  loads: number;
  unloads: number;
  /** Image requests open right now, waiting or being processed. */
  inFlight: number;
  /** The most image requests ever open at once: a gateway keeping its promise leaves this at 1. */
  maxInFlight: number;
  imageRequests: number;
  /** Image and unload requests, oldest first (bounded); health and status polls are not logged. */
  requests: RequestRecord[];
  /** Reference profile only: successful loads per pipeline, and loads that evicted the other one. */
  pipelineLoads?: Record<PipelineKind, number>;
  evictions?: number;
}

const MAX_RECORDS = 1000;

/** Epoch milliseconds with sub-millisecond precision, for measuring the gaps between requests. */
export const preciseNow = () => performance.timeOrigin + performance.now();

/**
 * The simulated GPU: model state, a one-at-a-time lock, and the books tests read. The real server
 * processes one image request at a time; a second one waits for the first (shared/zimage-api.md).
 */
export class SimulatedGpu {
  modelLoaded = false;
  loading = false;
  loads = 0;
  unloads = 0;
  inFlight = 0;
  maxInFlight = 0;
  imageRequests = 0;
  requests: RequestRecord[] = [];
  /** Set by the reference profile, whose two pipelines are counted apart; null in the documented one. */
  pipelineLoads: Record<PipelineKind, number> | null = null;
  evictions = 0;
  private nextId = 1;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(public faults: Faults) {}

  record(path: string, prompt: string | null = null, size: string | null = null): RequestRecord {
    const rec: RequestRecord = {
      id: this.nextId++,
      path,
      arrivedAt: preciseNow(),
      startedAt: null,
      finishedAt: null,
      status: null,
      prompt,
      size,
    };
    this.requests.push(rec);
    if (this.requests.length > MAX_RECORDS) this.requests.shift();
    return rec;
  }

  /** Runs `work` when every earlier image request has finished, counting concurrency on arrival. */
  async exclusive<T>(work: () => Promise<T>): Promise<T> {
    this.inFlight++;
    this.imageRequests++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const run = this.tail.then(work, work);
    // The chain only orders requests: `run`'s failure reaches this caller below, and must not stop
    // the next request from running.
    this.tail = run.catch(() => {});
    try {
      return await run;
    } finally {
      this.inFlight--;
    }
  }

  get busy(): boolean {
    return this.inFlight > 0;
  }

  unload(): void {
    if (this.modelLoaded) this.unloads++;
    this.modelLoaded = false;
  }

  stats(): SimulatorStats {
    return {
      modelLoaded: this.modelLoaded,
      loading: this.loading,
      busy: this.busy,
      loads: this.loads,
      unloads: this.unloads,
      inFlight: this.inFlight,
      maxInFlight: this.maxInFlight,
      imageRequests: this.imageRequests,
      requests: this.requests.map((r) => ({ ...r })),
      ...(this.pipelineLoads && { pipelineLoads: { ...this.pipelineLoads }, evictions: this.evictions }),
    };
  }

  resetStats(): void {
    this.maxInFlight = this.inFlight;
    this.imageRequests = 0;
    this.requests = [];
    this.loads = 0;
    this.unloads = 0;
    if (this.pipelineLoads) this.pipelineLoads = { t2i: 0, edit: 0 };
    this.evictions = 0;
  }
}
