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
    };
  }

  resetStats(): void {
    this.maxInFlight = this.inFlight;
    this.imageRequests = 0;
    this.requests = [];
    this.loads = 0;
    this.unloads = 0;
  }
}
