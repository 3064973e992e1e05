import { GatewayError } from "@zimage/core";
import type { Response } from "express";

/** A held connection: a server-sent event stream, or a request waiting for its job (long-poll). */
export type StreamKind = "sse" | "wait";

export interface StreamLimits {
  /** MAX_STREAMS_PER_KEY: held connections one API key may have open on this process. */
  perKey: number;
  /** MAX_STREAMS_PER_PROCESS: held connections of all keys together on this process. */
  perProcess: number;
  /** STREAM_WRITE_TIMEOUT_SECONDS in ms: how long an SSE client may leave its socket full. */
  writeTimeoutMs: number;
}

/** A slot frees whenever one of the key's (or the process's) streams ends: a polite guess, not a promise. */
const RETRY_AFTER_SECONDS = 5;

/**
 * One held connection and everything it owns. Closing it (the client went away, or the stream ended)
 * aborts `signal`, clears every timer it started, runs its cleanups and frees its slot, once. Code
 * that holds a connection awaits Redis between steps, so after every await it checks `closed` and
 * registers nothing more: whatever it registers after the close is released at once.
 */
export class HeldStream {
  private readonly controller = new AbortController();
  private readonly timers = new Set<NodeJS.Timeout>();
  private cleanups: Array<() => void> = [];

  constructor(
    readonly res: Response,
    readonly kind: StreamKind,
    private readonly onEnd: (held: HeldStream, timers: number) => void,
    private readonly countTimer: (delta: number) => void,
  ) {}

  /** Aborted when the connection closes. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get closed(): boolean {
    return this.controller.signal.aborted;
  }

  setInterval(fn: () => void, ms: number): NodeJS.Timeout | null {
    if (this.closed) return null;
    const timer = setInterval(fn, ms);
    this.timers.add(timer);
    this.countTimer(1);
    return timer;
  }

  setTimeout(fn: () => void, ms: number): NodeJS.Timeout | null {
    if (this.closed) return null;
    const timer = setTimeout(() => {
      this.forget(timer);
      fn();
    }, ms);
    this.timers.add(timer);
    this.countTimer(1);
    return timer;
  }

  clearTimer(timer: NodeJS.Timeout | null): void {
    if (!timer || !this.timers.has(timer)) return;
    clearTimeout(timer);
    this.forget(timer);
  }

  /** Runs `fn` when the connection closes (at once if it already has). */
  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.cleanups.push(fn);
  }

  close(): void {
    if (this.closed) return;
    this.controller.abort();
    for (const timer of this.timers) clearTimeout(timer);
    const timers = this.timers.size;
    this.timers.clear();
    const cleanups = this.cleanups;
    this.cleanups = [];
    for (const fn of cleanups) fn();
    this.onEnd(this, timers);
  }

  private forget(timer: NodeJS.Timeout): void {
    if (this.timers.delete(timer)) this.countTimer(-1);
  }
}

/**
 * Counts held connections per API key and per process and refuses one over either cap, so neither
 * one key nor all of them together can pin an unbounded number of sockets, bus waiters and timers.
 * Counted in this process's memory, not in Redis: a slot must be freed by the very close event that
 * ends the connection, and an api process that dies frees its slots with its sockets; a Redis count
 * would leak on every crash. With several api processes a key may hold the cap on each.
 */
export class StreamSlots {
  private readonly perKey = new Map<string, number>();
  private readonly open = new Set<HeldStream>();
  private liveTimers = 0;

  constructor(readonly limits: StreamLimits) {}

  /**
   * Takes a slot for this request until its response closes, or throws 429 `too_many_streams` (this
   * key's cap) / 503 `streams_at_capacity` (the process's). Call it before the first await of the
   * handler, so the slot is held through the stream's setup.
   */
  hold(res: Response, owner: string, kind: StreamKind): HeldStream {
    const mine = this.perKey.get(owner) ?? 0;
    if (mine >= this.limits.perKey) {
      throw new GatewayError(
        "too_many_streams",
        `this key already holds ${this.limits.perKey} event streams and waiting requests (MAX_STREAMS_PER_KEY); close one, or retry later`,
        { retry_after_seconds: RETRY_AFTER_SECONDS, limit: this.limits.perKey },
      );
    }
    if (this.open.size >= this.limits.perProcess) {
      throw new GatewayError(
        "streams_at_capacity",
        "this server holds as many event streams and waiting requests as it allows; retry shortly",
        { retry_after_seconds: RETRY_AFTER_SECONDS },
      );
    }
    this.perKey.set(owner, mine + 1);
    const held = new HeldStream(
      res,
      kind,
      (h, timers) => {
        this.open.delete(h);
        this.liveTimers -= timers;
        const left = (this.perKey.get(owner) ?? 1) - 1;
        if (left > 0) this.perKey.set(owner, left);
        else this.perKey.delete(owner);
      },
      (delta) => {
        this.liveTimers += delta;
      },
    );
    this.open.add(held);
    // 'close' on the response fires when it ends or when the client goes away, whichever is first.
    // A client that left during authentication has already closed: no event will come. (Not
    // `req.destroyed`, nor the request's 'close': a request is destroyed once its body is read.)
    if (res.closed || res.destroyed) held.close();
    else res.once("close", () => held.close());
    return held;
  }

  /** Like `hold`, but null instead of an error: for a wait the client only prefers (`Prefer: wait`). */
  tryHold(res: Response, owner: string, kind: StreamKind): HeldStream | null {
    try {
      return this.hold(res, owner, kind);
    } catch (err) {
      if (err instanceof GatewayError) return null;
      throw err;
    }
  }

  /** What is held now: for the metrics gauges, and for tests that check nothing is left behind. */
  stats(): { sse: number; wait: number; keys: number; timers: number; bufferedBytes: number } {
    let sse = 0;
    let bufferedBytes = 0;
    for (const held of this.open) {
      if (held.kind === "sse") sse++;
      bufferedBytes += held.res.writableLength ?? 0;
    }
    return {
      sse,
      wait: this.open.size - sse,
      keys: this.perKey.size,
      timers: this.liveTimers,
      bufferedBytes,
    };
  }
}
