import { createConnection, createServer, type Socket } from "node:net";

/**
 * How a cut looks to the processes on either side:
 * - `refuse`: every open connection is reset (the client sees ECONNRESET at once) and new ones are
 *   reset as soon as they are accepted — a peer that is down.
 * - `blackhole`: connections stay open and new ones are accepted, but no byte moves in either
 *   direction; nobody is told. This is the partition that matters for leases: the client's writes
 *   "succeed", its commands simply never answer. On `restore()` the held bytes are delivered in
 *   order, which is what TCP does after a partition shorter than its retransmission timeout.
 */
export type CutMode = "refuse" | "blackhole";

export interface TcpProxy {
  /** The loopback port clients connect to instead of the target's. */
  readonly port: number;
  /** `open`, or how it is cut. */
  readonly state: "open" | CutMode;
  /** Connections currently open through the proxy (client side). */
  connections(): number;
  cut(mode?: CutMode): void;
  /** Forwards again; a blackhole delivers what it held. */
  restore(): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  /** Null until the proxy connects to the target (deferred while blackholed). */
  target: Socket | null;
  /** Bytes read while blackholed, in order, per destination: delivered on restore. */
  held: Array<{ to: Socket; chunk: Buffer }>;
}

/**
 * A TCP proxy on 127.0.0.1 that a test can cut and restore, to partition one process from a
 * dependency (e.g. a worker from Redis) without touching anyone else's connection to it.
 */
export async function startTcpProxy(target: { host?: string; port: number }): Promise<TcpProxy> {
  const host = target.host ?? "127.0.0.1";
  const pairs = new Set<Pair>();
  let state: "open" | CutMode = "open";

  const drop = (pair: Pair) => {
    pairs.delete(pair);
    pair.client.destroy();
    pair.target?.destroy();
  };
  const reset = (pair: Pair) => {
    pairs.delete(pair);
    pair.client.resetAndDestroy();
    pair.target?.resetAndDestroy();
  };
  // Not pipe(): a pipe resumes its source on the destination's 'drain', which would reopen a
  // blackhole. Here nothing moves unless the proxy is open.
  const forward = (pair: Pair, from: Socket, to: Socket) => {
    from.on("data", (chunk: Buffer) => {
      if (state !== "open") {
        from.pause();
        pair.held.push({ to, chunk });
        return;
      }
      if (!to.write(chunk)) {
        from.pause();
        to.once("drain", () => {
          if (state === "open") from.resume();
        });
      }
    });
  };
  const connectTarget = (pair: Pair) => {
    const upstream = createConnection({ host, port: target.port });
    pair.target = upstream;
    upstream.setNoDelay(true);
    upstream.on("error", () => drop(pair));
    upstream.on("close", () => drop(pair));
    forward(pair, pair.client, upstream);
    forward(pair, upstream, pair.client);
    pair.client.resume();
  };

  const server = createServer({ pauseOnConnect: true }, (client) => {
    const pair: Pair = { client, target: null, held: [] };
    if (state === "refuse") {
      client.resetAndDestroy();
      return;
    }
    pairs.add(pair);
    client.setNoDelay(true);
    client.on("error", () => drop(pair));
    client.on("close", () => drop(pair));
    // A connection made during a blackhole is accepted and then left hanging, like a SYN that
    // got through to a host that answers nothing after.
    if (state === "blackhole") return;
    connectTarget(pair);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (typeof address !== "object" || !address) throw new Error("tcp proxy: no address");

  return {
    port: address.port,
    get state() {
      return state;
    },
    connections: () => pairs.size,
    cut: (mode = "blackhole") => {
      state = mode;
      for (const pair of [...pairs]) {
        if (mode === "refuse") reset(pair);
        else {
          pair.client.pause();
          pair.target?.pause();
        }
      }
    },
    restore: () => {
      state = "open";
      for (const pair of pairs) {
        if (!pair.target) {
          connectTarget(pair);
          continue;
        }
        for (const { to, chunk } of pair.held.splice(0)) to.write(chunk);
        pair.client.resume();
        pair.target.resume();
      }
    },
    close: async () => {
      for (const pair of [...pairs]) drop(pair);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
