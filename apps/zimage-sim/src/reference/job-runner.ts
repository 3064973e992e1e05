import { setTimeout as sleep } from "node:timers/promises";
import type { Request, Response } from "express";
import { preciseNow, type RequestRecord, type SimulatedGpu } from "../gpu";
import type { EditJob, ImageWork, TextToImageJob } from "./image-work";
import type { ImageItem } from "./tasks";

type Job = TextToImageJob | EditJob;
export type JobOutcome = { ok: true; data: ImageItem[] } | { ok: false; error: string };

/**
 * Runs image jobs on the GPU lock, with the fault injection of the documented profile and the
 * reference server's error shapes. The lock serialises: a second job waits instead of being
 * refused, and the simulated GPU counts it as in flight from its arrival.
 */
export class JobRunner {
  constructor(
    private readonly gpu: SimulatedGpu,
    private readonly work: ImageWork,
  ) {}

  /** `POST /v1/images/generations`: holds the connection until done; a failure is a 500 `detail`. */
  async sync(req: Request, res: Response, rec: RequestRecord, job: Job): Promise<void> {
    await this.gpu.exclusive(async () => {
      rec.startedAt = preciseNow();
      try {
        if (this.gpu.faults.latencyMs > 0) await sleep(this.gpu.faults.latencyMs);
        if (this.answeredByFault(req, res, rec)) return;
        const outcome = await this.outcome(job);
        rec.status = outcome.ok ? 200 : 500;
        if (outcome.ok) res.json({ created: Math.floor(Date.now() / 1000), data: outcome.data });
        else res.status(500).json({ detail: outcome.error });
      } finally {
        rec.finishedAt = preciseNow();
      }
    });
  }

  /**
   * The async routes' submission: the connection-level faults fire here (no task is created);
   * otherwise `accept` answers at once and the job queues on the lock, reporting to `done`.
   */
  submit(
    req: Request,
    res: Response,
    rec: RequestRecord,
    job: Job,
    accept: () => void,
    done: (outcome: JobOutcome) => void,
  ): void {
    if (this.answeredByFault(req, res, rec)) {
      rec.startedAt = rec.finishedAt = preciseNow();
      return;
    }
    accept();
    void this.gpu.exclusive(async () => {
      rec.startedAt = preciseNow();
      try {
        if (this.gpu.faults.latencyMs > 0) await sleep(this.gpu.faults.latencyMs);
        const outcome = await this.outcome(job);
        rec.status = outcome.ok ? 200 : 500;
        done(outcome);
      } finally {
        rec.finishedAt = preciseNow();
      }
    });
  }

  /** Books a request that does not touch the lock (unload). */
  recordInstant(path: string): void {
    const rec = this.gpu.record(path);
    rec.startedAt = rec.finishedAt = preciseNow();
    rec.status = 200;
  }

  private async outcome(job: Job): Promise<JobOutcome> {
    try {
      return { ok: true, data: await this.work.process(job) };
    } catch (err) {
      // The reference server reports `str(exception)`, which is what `message` holds here.
      return { ok: false, error: (err as Error).message };
    }
  }

  private answeredByFault(req: Request, res: Response, rec: RequestRecord): boolean {
    const f = this.gpu.faults;
    if (f.dropConnections > 0) {
      f.dropConnections--;
      rec.status = "dropped";
      req.socket.destroy();
      return true;
    }
    if (f.failNext) {
      const { status, body } = f.failNext;
      f.failNext = null;
      rec.status = status;
      res.status(status).json(body);
      return true;
    }
    return false;
  }
}
