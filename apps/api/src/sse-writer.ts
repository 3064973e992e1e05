import type { HeldStream } from "./stream-slots";

const HEARTBEAT_MS = 15_000;

export interface SseWriterOptions {
  /** The client's reconnect delay (`retry:`). */
  retryMs: number;
  /** STREAM_WRITE_TIMEOUT_SECONDS: a client whose socket stays full this long is disconnected. */
  writeTimeoutMs: number;
  /** Called when an event was replaced by a newer one for the same key while the client was not reading. */
  onCoalesced?: () => void;
  /** Called when a client is disconnected for not reading. */
  onStalled?: () => void;
}

/**
 * A server-sent event stream that honours backpressure. Each event has a key (a job id): while the
 * client's socket is full (`res.write` returned false) nothing more is written; only the newest
 * event per key is kept and goes out on 'drain', because a job's latest state is all a client acts
 * on. So what a stream buffers is bounded by its socket's high-water mark plus one event per job it
 * watches, however fast jobs change. A client that stays unwritable for `writeTimeoutMs` is
 * disconnected. Heartbeat comments (which keep proxies from closing an idle stream) are skipped
 * while the socket is full: there is no point queueing them.
 */
export class SseWriter {
  private readonly pending = new Map<string, string>();
  private blocked = false;
  private ending = false;
  private stallTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly held: HeldStream,
    private readonly opts: SseWriterOptions,
  ) {
    const { res } = held;
    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-transform",
      Connection: "keep-alive",
      // nginx would otherwise buffer the stream.
      "X-Accel-Buffering": "no",
    });
    this.write(`retry: ${opts.retryMs}\n\n`);
    held.setInterval(() => {
      if (!this.blocked) this.write(": keep-alive\n\n");
    }, HEARTBEAT_MS);
    const onDrain = () => this.flush();
    res.on("drain", onDrain);
    held.onClose(() => {
      res.off("drain", onDrain);
      this.pending.clear();
    });
  }

  /** Sends `event: <event>` with `data` (and `id`), or keeps it as `key`'s newest while the socket is full. */
  send(key: string, event: string, data: unknown, id?: string): void {
    if (this.held.closed) return;
    const frame = `${id === undefined ? "" : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    if (this.blocked) {
      if (this.pending.has(key)) this.opts.onCoalesced?.();
      // Re-inserted, so a key's event goes out after those of keys that changed before its last change.
      this.pending.delete(key);
      this.pending.set(key, frame);
      return;
    }
    this.write(frame);
  }

  /** Ends the stream (the job finished), after the events still waiting for the socket. */
  end(): void {
    if (this.held.closed) return;
    if (this.blocked) this.ending = true;
    else this.held.res.end();
  }

  private write(chunk: string): void {
    if (this.held.res.write(chunk)) return;
    this.blocked = true;
    if (!this.stallTimer) {
      this.stallTimer = this.held.setTimeout(() => {
        this.opts.onStalled?.();
        // destroy, not end: end would wait for the very buffer the client is not reading.
        this.held.res.destroy();
      }, this.opts.writeTimeoutMs);
    }
  }

  private flush(): void {
    this.blocked = false;
    this.held.clearTimer(this.stallTimer);
    this.stallTimer = null;
    for (const [key, frame] of this.pending) {
      this.pending.delete(key);
      this.write(frame);
      if (this.blocked) return;
    }
    if (this.ending) this.held.res.end();
  }
}
