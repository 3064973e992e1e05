import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { freePort } from "./free-port";
import { waitFor } from "./wait-for";

const run = promisify(execFile);

/** One redis-server (or sentinel) process of a group, on a loopback port. */
interface Member {
  port: number;
  child: ChildProcess;
}

/** Runs one command on the server at `port` with a throwaway connection; rejects when it cannot. */
async function ask(port: number, ...command: string[]): Promise<unknown> {
  const client = new Redis(port, "127.0.0.1", {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on("error", () => {});
  try {
    await client.connect();
    const [name, ...args] = command;
    return await client.call(name as string, ...args);
  } finally {
    client.disconnect();
  }
}

async function spawnServer(args: string[], port: number): Promise<Member> {
  const child = spawn("redis-server", args, { stdio: "ignore" });
  await new Promise<void>((resolve, reject) => {
    child.once("error", (err) => reject(new Error(`cannot start redis-server: ${err.message}`)));
    child.once("spawn", () => resolve());
  });
  await waitFor(async () => (await ask(port, "PING")) === "PONG", {
    timeoutMs: 10_000,
    what: `redis-server on ${port}`,
  });
  return { port, child };
}

async function killMember(m: Member): Promise<void> {
  if (m.child.exitCode !== null || m.child.signalCode !== null) return;
  const exited = new Promise((r) => m.child.once("exit", r));
  m.child.kill("SIGKILL");
  await exited;
}

/** Server options every member shares: loopback only, no persistence (a group lives for one test file). */
const BASE = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction"];

export interface PrivateRedisCluster {
  /** The masters' ports. */
  ports: number[];
  /** What the gateway needs to use this cluster (REDIS_CLUSTER_NODES). */
  env: Record<string, string>;
  /** Runs a command on every master (KEYS, DBSIZE, FLUSHDB are per node on a cluster). */
  onEachNode(...command: string[]): Promise<unknown[]>;
  stop(): Promise<void>;
}

/**
 * A Redis Cluster of `masters` masters (no replicas) on free loopback ports, each in its own temp
 * dir, created with `redis-cli --cluster create` and returned once every node says cluster_state:ok.
 */
export async function startRedisCluster(opts: { masters?: number } = {}): Promise<PrivateRedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), "zimage-redis-cluster-"));
  const members: Member[] = [];
  const stop = async () => {
    await Promise.all(members.map(killMember));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < (opts.masters ?? 3); i++) {
      const port = await freePort();
      // The cluster bus port defaults to port + 10000, which may be taken or past 65535: pick one.
      const busPort = await freePort();
      const nodeDir = await mkdtemp(join(dir, `node-${i}-`));
      members.push(
        await spawnServer(
          [
            "--port",
            String(port),
            "--cluster-port",
            String(busPort),
            "--dir",
            nodeDir,
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "2000",
            ...BASE,
          ],
          port,
        ),
      );
    }
    const addresses = members.map((m) => `127.0.0.1:${m.port}`);
    await run(
      "redis-cli",
      ["--cluster", "create", ...addresses, "--cluster-replicas", "0", "--cluster-yes"],
      {
        timeout: 30_000,
      },
    );
    // Each node learns the others' slots through the bus: wait until all of them agree.
    await waitFor(
      async () => {
        const infos = await Promise.all(members.map((m) => ask(m.port, "CLUSTER", "INFO")));
        return infos.every(
          (i) => /cluster_state:ok/.test(String(i)) && /cluster_slots_ok:16384/.test(String(i)),
        );
      },
      { timeoutMs: 20_000, what: "cluster_state:ok on every node" },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  const ports = members.map((m) => m.port);
  return {
    ports,
    env: { REDIS_CLUSTER_NODES: ports.map((p) => `127.0.0.1:${p}`).join(",") },
    onEachNode: (...command) => Promise.all(ports.map((p) => ask(p, ...command))),
    stop,
  };
}

export interface PrivateRedisSentinel {
  name: string;
  sentinelPorts: number[];
  /** What the gateway needs to use this group (REDIS_SENTINELS, REDIS_SENTINEL_NAME). */
  env: Record<string, string>;
  /** The port of the master the sentinels name now. */
  masterPort(): Promise<number>;
  /** Runs a command on the data server at `port`. */
  ask(port: number, ...command: string[]): Promise<unknown>;
  /**
   * Resolves once every replica has everything written to the master so far: a probe write, then
   * WAIT for it (replication is one ordered stream, so the probe's acknowledgement covers all
   * earlier writes). Replication is asynchronous; without this, writes acknowledged in the last
   * milliseconds before a master dies may be missing on the replica that replaces it.
   */
  replicated(): Promise<void>;
  /** SIGKILLs the data server at `port` (the master, for a failover). */
  kill(port: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A sentinel group on free loopback ports: one master, `replicas` replicas, and `sentinels`
 * sentinels (`redis-server --sentinel` with their own config files) with quorum 2 and a short
 * `down-after-milliseconds`, so a killed master is failed over in a few seconds. Returned once every
 * sentinel knows every replica and every other sentinel, so a failover can be authorised at once.
 */
export async function startRedisSentinel(
  opts: { replicas?: number; sentinels?: number; downAfterMs?: number } = {},
): Promise<PrivateRedisSentinel> {
  const name = "zimage-test";
  const replicas = opts.replicas ?? 1;
  const sentinelCount = opts.sentinels ?? 3;
  const dir = await mkdtemp(join(tmpdir(), "zimage-redis-sentinel-"));
  const data: Member[] = [];
  const sentinels: Member[] = [];
  const stop = async () => {
    await Promise.all([...sentinels, ...data].map(killMember));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const masterPort = await freePort();
    for (let i = 0; i <= replicas; i++) {
      const port = i === 0 ? masterPort : await freePort();
      const nodeDir = await mkdtemp(join(dir, `data-${i}-`));
      const args = ["--port", String(port), "--dir", nodeDir, ...BASE];
      if (i > 0) args.push("--replicaof", "127.0.0.1", String(masterPort));
      data.push(await spawnServer(args, port));
    }
    for (let i = 0; i < sentinelCount; i++) {
      const port = await freePort();
      const sentinelDir = await mkdtemp(join(dir, `sentinel-${i}-`));
      // A sentinel rewrites its config file with what it learns, so each has its own.
      const conf = join(sentinelDir, "sentinel.conf");
      await writeFile(
        conf,
        [
          `port ${port}`,
          "bind 127.0.0.1",
          `dir ${sentinelDir}`,
          `sentinel monitor ${name} 127.0.0.1 ${masterPort} 2`,
          `sentinel down-after-milliseconds ${name} ${opts.downAfterMs ?? 1000}`,
          `sentinel failover-timeout ${name} 5000`,
          `sentinel parallel-syncs ${name} 1`,
          "",
        ].join("\n"),
      );
      sentinels.push(await spawnServer([conf, "--sentinel"], port));
    }
    await waitFor(
      async () => {
        for (const s of sentinels) {
          const master = (await ask(s.port, "SENTINEL", "MASTER", name)) as string[];
          const field = (k: string) => Number(master[master.indexOf(k) + 1]);
          if (field("num-slaves") < replicas || field("num-other-sentinels") < sentinelCount - 1)
            return false;
        }
        return true;
      },
      { timeoutMs: 30_000, what: "every sentinel to know the replicas and the other sentinels" },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  const sentinelPorts = sentinels.map((s) => s.port);
  return {
    name,
    sentinelPorts,
    env: {
      REDIS_SENTINELS: sentinelPorts.map((p) => `127.0.0.1:${p}`).join(","),
      REDIS_SENTINEL_NAME: name,
    },
    masterPort: async () => {
      const [, port] = (await ask(
        sentinelPorts[0] as number,
        "SENTINEL",
        "GET-MASTER-ADDR-BY-NAME",
        name,
      )) as string[];
      return Number(port);
    },
    ask,
    replicated: async () => {
      const [, port] = (await ask(
        sentinelPorts[0] as number,
        "SENTINEL",
        "GET-MASTER-ADDR-BY-NAME",
        name,
      )) as string[];
      const client = new Redis(Number(port), "127.0.0.1", {
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      client.on("error", () => {});
      try {
        await client.set("replication-probe", String(Date.now()));
        const acked = Number(await client.call("WAIT", String(replicas), "5000"));
        if (acked < replicas) throw new Error(`only ${acked} of ${replicas} replicas caught up within 5 s`);
      } finally {
        client.disconnect();
      }
    },
    kill: async (port) => {
      const member = data.find((m) => m.port === port);
      if (!member) throw new Error(`no data server of this group on ${port}`);
      await killMember(member);
    },
    stop,
  };
}
