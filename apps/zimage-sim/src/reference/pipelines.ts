import { setTimeout as sleep } from "node:timers/promises";
import type { PipelineKind, SimulatedGpu } from "../gpu";

/** What a model load failure looks like on the reference server: an exception whose text names the pipeline. */
export class PipelineLoadError extends Error {}

export const modelIds: Record<PipelineKind, string> = {
  t2i: "Tongyi-MAI/Z-Image",
  edit: "Tongyi-MAI/Z-Image-Edit",
};
const errorPrefix: Record<PipelineKind, string> = { t2i: "T2I Load Error", edit: "Edit Load Error" };

/**
 * The reference server's two models, of which at most one is in VRAM: loading one first evicts the
 * other, so alternating job kinds pays a full load at every switch (shared/zimage-api.md, "Two
 * pipelines that evict each other"). Callers hold the GPU lock; loading counts as generating.
 */
export class Pipelines {
  loaded: PipelineKind | null = null;

  constructor(
    private readonly gpu: SimulatedGpu,
    private readonly loadMs: Record<PipelineKind, number>,
  ) {
    gpu.pipelineLoads = { t2i: 0, edit: 0 };
  }

  isLoaded(kind: PipelineKind): boolean {
    return this.loaded === kind;
  }

  /** Makes `kind` the loaded pipeline; throws PipelineLoadError when a load fault fires. */
  async ensure(kind: PipelineKind): Promise<void> {
    if (this.loaded === kind) return;
    // The other pipeline is freed before the load is tried, so a failed load leaves neither loaded.
    if (this.loaded !== null) {
      this.gpu.evictions++;
      this.set(null);
    }
    this.gpu.loading = true;
    try {
      await sleep(this.loadMs[kind]);
    } finally {
      this.gpu.loading = false;
    }
    const f = this.gpu.faults;
    if (f.loadFailures > 0) {
      f.loadFailures--;
      throw new PipelineLoadError(`${errorPrefix[kind]}: simulated failure while loading ${modelIds[kind]}`);
    }
    this.set(kind);
    this.gpu.loads++;
    this.gpu.pipelineLoads![kind]++;
  }

  /** `/v1/internal/unload`: both pipelines go; a job being processed keeps its reference and finishes. */
  unload(): void {
    this.gpu.unload();
    this.loaded = null;
  }

  private set(kind: PipelineKind | null): void {
    this.loaded = kind;
    this.gpu.modelLoaded = kind !== null;
  }
}
