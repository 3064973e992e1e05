import {
  getDispatchStats,
  isQueueIdle,
  type JobKind,
  pickNextJob,
  readUpstreamStates,
  resetFairShare,
  servedSlot,
  type UpstreamState,
} from "@zimage/core";
import type { Redis } from "ioredis";
import type { UpstreamMonitor } from "./upstream-monitor";

/** How the dispatcher fetches its next job: wait on the queue, look without waiting, or not at all. */
export type FetchMode = "block" | "poll" | "hold";

export interface FetchPolicyOptions {
  upstream: string;
  redis: Redis;
  prefix: string;
  monitor: UpstreamMonitor;
  healthIntervalMs: number;
  /**
   * PIPELINE_WINDOW_JOBS / PIPELINE_WINDOW_SECONDS (in ms): a queued job is skipped for another kind
   * at most this many times, and for at most this long, by this upstream. Default 8 jobs, 300 s.
   */
  pipelineWindow?: { jobs: number; ms: number };
}

const KINDS: readonly JobKind[] = ["generate", "edit"];
/** Until a model load has been timed here, a switch is assumed to cost this much. */
const DEFAULT_LOAD_MS = 30_000;

/**
 * Which job an upstream takes next, and when. Fair share among users is decided at submit (BullMQ
 * priorities); what is decided here is which kinds this upstream takes, and whether it should take
 * the queue's next job at all, given the others:
 * - it never takes a kind it cannot run (its modes: discovered or pinned);
 * - loading a pipeline is what costs on a GPU, so an upstream with one pipeline loaded (the
 *   reference server: one per kind, loading one evicts the other) takes the next job of that kind
 *   first, within a window (PIPELINE_WINDOW_*; `pickNextJob`). A single-model server has no
 *   preference: it takes the queue's order, as before;
 * - a job whose pipeline is loaded on another upstream, up, idle and healthy, is left to that one:
 *   this one would spend minutes loading. (For a single-model server: a cold upstream holds back
 *   while a warm peer is idle.)
 */
export class FetchPolicy {
  /** The kind `choose` expected this fetch to bring; null: whatever the queue gives. */
  private expected: JobKind | null = null;
  /** The head job this upstream left to a busy warm peer, and since when (see `leaveToBusyPeer`). */
  private deferred: { job: string; since: number } | null = null;

  constructor(private readonly opts: FetchPolicyOptions) {}

  /** The kinds this upstream can run: all while its modes are unknown. */
  runnable(): JobKind[] {
    const modes = this.opts.monitor.modes;
    return modes === null ? [...KINDS] : KINDS.filter((k) => modes[k] !== null);
  }

  /**
   * The kind whose pipeline is loaded, when the server has one per kind (and can run it); null on a
   * single-model server ("all"), with nothing loaded, or when it does not say.
   */
  preferred(): JobKind | null {
    const loaded = this.opts.monitor.loadedPipeline;
    return (loaded === "generate" || loaded === "edit") && this.runnable().includes(loaded) ? loaded : null;
  }

  /**
   * Decides the next fetch; call it right before `Worker.getNextJob`. It may move the job to take to
   * the head of the queue (`pickNextJob`), so the fetch gets it.
   *
   * A dispatcher whose model is loaded (or unknown) for every kind it runs blocks on the queue, as
   * before, without reading anything. One that would have to load a pipeline never parks in a
   * blocking fetch when it has peers (it could win a job a warm peer should get); it polls, and
   * holds back while the job it would take has its pipeline loaded on an up, idle, fresh peer
   * (with nothing queued: while such a peer exists for a kind it is cold for). As soon as that peer
   * is busy, it fetches again.
   */
  async choose(): Promise<FetchMode> {
    this.expected = null;
    const runnable = this.runnable();
    if (runnable.length === 0) return "hold";
    const warm = this.warmKinds();
    const cold = warm === null ? [] : runnable.filter((k) => !warm.has(k));
    const peers = cold.length > 0 ? await this.peers() : [];
    const mode: FetchMode = peers.length > 0 ? "poll" : "block";
    const preferred = this.preferred();
    // A single-model server that can run every kind, and has no peer to defer to: the queue's order.
    if (preferred === null && runnable.length === KINDS.length && peers.length === 0) return mode;
    const window = this.opts.pipelineWindow ?? { jobs: 8, ms: 300_000 };
    const pick = await pickNextJob(this.opts.redis, this.opts.prefix, {
      upstream: this.opts.upstream,
      runnable,
      preferred,
      windowJobs: window.jobs,
      windowMs: window.ms,
    });
    if (pick.action === "hold") return "hold";
    if (pick.action === "empty")
      return cold.some((k) => peers.some((p) => this.warmIdlePeer(p, k))) ? "hold" : mode;
    const kind = pick.action === "promoted" ? pick.kind : (pick.headKind as JobKind);
    if (cold.includes(kind) && peers.some((p) => this.warmIdlePeer(p, kind))) return "hold";
    if (pick.action === "head" && preferred !== null && kind !== preferred) {
      if (await this.leaveToBusyPeer(pick.head, kind, peers)) return "hold";
    }
    this.deferred = null;
    this.expected = kind;
    return mode;
  }

  /**
   * About to evict its own pipeline for the head job's kind while a peer has that kind loaded but is
   * busy: the peer will take the job when its current one ends, which on a real GPU is far sooner
   * than a model load. So this upstream waits — for at most one model load's time (the recorded
   * average), after which switching costs less than waiting longer (a deep backlog of that kind).
   */
  private async leaveToBusyPeer(head: string, kind: JobKind, peers: UpstreamState[]): Promise<boolean> {
    if (!peers.some((p) => this.warmPeer(p, kind))) return false;
    if (this.deferred?.job !== head) this.deferred = { job: head, since: Date.now() };
    const { avgLoadMs } = await getDispatchStats(this.opts.redis, this.opts.prefix);
    return Date.now() - this.deferred.since < (avgLoadMs ?? DEFAULT_LOAD_MS);
  }

  /**
   * May this dispatcher run the job it just fetched (BullMQ job name = kind)? No if it cannot run
   * its kind; no either if the fetch brought a job of another kind than `choose` expected and it
   * would evict the loaded pipeline for it (another dispatcher took the chosen job first, or
   * re-ordered the queue meanwhile). The caller gives it back to the queue, uncounted (`moveToWait`:
   * at the front of its priority), and decides again. A single-model server takes any kind it runs.
   */
  accepts(job: { name: string }): boolean {
    const kind = job.name as JobKind;
    if (!this.runnable().includes(kind)) return false;
    if (this.expected === null || kind === this.expected) return true;
    const preferred = this.preferred();
    return preferred === null || kind === preferred;
  }

  /**
   * The queue came back empty: once nothing waits anywhere, the fair-share clock starts over, so a
   * user's first job after a quiet spell is not ranked against long-finished history.
   */
  async queueEmpty(queueKeys: Parameters<typeof isQueueIdle>[1]): Promise<void> {
    if ((await servedSlot(this.opts.redis, this.opts.prefix)) === 0) return;
    if (await isQueueIdle(this.opts.redis, queueKeys))
      await resetFairShare(this.opts.redis, this.opts.prefix);
  }

  /** Kinds whose pipeline this upstream has loaded; null when it does not say (taken as warm). */
  private warmKinds(): Set<JobKind> | null {
    const { loadedPipeline, modelLoaded } = this.opts.monitor;
    if (loadedPipeline === "generate" || loadedPipeline === "edit") return new Set([loadedPipeline]);
    if (loadedPipeline === "all") return new Set(KINDS);
    if (loadedPipeline === "none") return new Set();
    if (modelLoaded === null) return null;
    return modelLoaded ? new Set(KINDS) : new Set();
  }

  private async peers(): Promise<UpstreamState[]> {
    const states = await readUpstreamStates(this.opts.redis, this.opts.prefix);
    return states.filter((s) => s.name !== this.opts.upstream);
  }

  /** A peer that would take a job of `kind` now, without loading anything. */
  private warmIdlePeer(s: UpstreamState, kind: JobKind): boolean {
    return !s.busy && this.warmPeer(s, kind);
  }

  /** A peer in service with `kind`'s pipeline loaded, busy or not. */
  private warmPeer(s: UpstreamState, kind: JobKind): boolean {
    const freshMs = Math.max(3 * this.opts.healthIntervalMs, 5_000);
    const loaded = s.loaded_pipeline;
    const warm = loaded === kind || loaded === "all" || (loaded === null && s.model_loaded === true);
    return (
      warm &&
      s.owner !== null &&
      s.up === true &&
      s.breaker?.state !== "open" &&
      (s.capabilities === null || s.capabilities[kind] !== null) &&
      s.checked_at !== null &&
      Date.now() - Date.parse(s.checked_at) < freshMs
    );
  }
}
