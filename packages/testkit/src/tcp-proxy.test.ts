import { once } from "node:events";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { startRedis } from "./redis-server";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy";
import { waitFor } from "./wait-for";

/** An echo server on loopback: what goes through the proxy comes back through it. */
async function echoServer(): Promise<{ port: number; server: Server }> {
  const server = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as { port: number }).port, server };
}

/** A client that collects what it receives and records how it ended. */
async function client(port: number) {
  const socket = createConnection({ host: "127.0.0.1", port });
  let received = "";
  let ended: string | null = null;
  socket.on("data", (c: Buffer) => {
    received += c.toString();
  });
  socket.on("error", (err: NodeJS.ErrnoException) => {
    ended = err.code ?? err.message;
  });
  socket.on("close", () => {
    ended ??= "closed";
  });
  await once(socket, "connect");
  return {
    socket,
    received: () => received,
    ended: () => ended,
  };
}

let proxy: TcpProxy | undefined;
let echo: Server | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await proxy?.close();
  await new Promise((r) => (echo ? echo.close(r) : r(null)));
  proxy = undefined;
  echo = undefined;
});

async function setup() {
  const e = await echoServer();
  echo = e.server;
  proxy = await startTcpProxy({ port: e.port });
  return proxy;
}
const connect = async (p: TcpProxy) => {
  const c = await client(p.port);
  sockets.push(c.socket);
  return c;
};

describe("tcp proxy", () => {
  it("forwards both ways while open", async () => {
    const p = await setup();
    const c = await connect(p);
    c.socket.write("hello");
    await waitFor(() => c.received() === "hello", { what: "the echo" });
    expect(p.connections()).toBe(1);
  });

  it("a blackhole holds bytes silently, keeps the connection open, and delivers them on restore", async () => {
    const p = await setup();
    const c = await connect(p);
    c.socket.write("before ");
    await waitFor(() => c.received() === "before ", { what: "the first echo" });
    p.cut("blackhole");
    c.socket.write("during");
    // A negative check needs some wait; it can only pass wrongly, never fail wrongly.
    await sleep(200);
    expect(c.received()).toBe("before ");
    expect(c.ended()).toBeNull();
    p.restore();
    await waitFor(() => c.received() === "before during", { what: "the held bytes" });
    expect(c.ended()).toBeNull();
  });

  it("a blackhole accepts new connections and connects them only on restore", async () => {
    const p = await setup();
    p.cut("blackhole");
    const c = await connect(p);
    c.socket.write("late");
    await sleep(200);
    expect(c.received()).toBe("");
    expect(c.ended()).toBeNull();
    p.restore();
    await waitFor(() => c.received() === "late", { what: "the echo after restore" });
  });

  it("refuse resets open connections and new ones, and restore lets new ones through", async () => {
    const p = await setup();
    const c = await connect(p);
    p.cut("refuse");
    await waitFor(() => c.ended(), { what: "the open connection to be reset" });
    expect(c.ended()).toBe("ECONNRESET");
    const refused = createConnection({ host: "127.0.0.1", port: p.port });
    sockets.push(refused);
    const [err] = (await once(refused, "error")) as [NodeJS.ErrnoException];
    expect(err.code).toBe("ECONNRESET");
    p.restore();
    const again = await connect(p);
    again.socket.write("back");
    await waitFor(() => again.received() === "back", { what: "the echo after restore" });
  });

  it("a Redis client through a blackhole waits, unaware, and its command completes on restore", async () => {
    const redis = await startRedis({ appendonly: false });
    const p = await startTcpProxy({ port: redis.port });
    const conn = new Redis(`redis://127.0.0.1:${p.port}`, { maxRetriesPerRequest: 1 });
    try {
      await conn.set("k", "1");
      p.cut("blackhole");
      let answered: string | null = null;
      const pending = conn.incr("k").then((v) => {
        answered = String(v);
      });
      await sleep(300);
      expect(answered).toBeNull();
      expect(conn.status).toBe("ready");
      p.restore();
      await pending;
      expect(answered).toBe("2");
    } finally {
      conn.disconnect();
      await p.close();
      await redis.stop();
    }
  });
});
