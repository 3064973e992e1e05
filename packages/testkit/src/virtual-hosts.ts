import { execFile } from "node:child_process";
import { appendFile, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type RunningProcess, startProcess } from "./process";

/**
 * Hosts on one machine: each a network namespace with its own `eth0`, the peer end of a veth pair
 * whose root end is on a bridge in the root namespace. The bridge has `rootAddress` (10.200.X.1/24),
 * the hosts 10.200.X.2, .3, …; the namespaces have no default route, so nothing they send can leave
 * the machine, and the shared services (Redis, S3, simulators) listen on `rootAddress`. A host's
 * loopback is its own: it cannot reach a service in the root namespace or another host on 127.0.0.1.
 *
 * Needs root and iproute2 (`ip netns`, veth, bridge). Every name carries the creating process's pid,
 * so `removeLeftoverVirtualHosts` can tell a crashed run's leftovers from a live run's.
 */
const run = promisify(execFile);
const ip = async (...args: string[]) => (await run("ip", args)).stdout;

const NETNS_PREFIX = "zimage-hosts-";
/** `<tmpdir>/zimage-hosts-<pid>.pids`: processes of a run outside its namespaces, one `pid comm` a line. */
const pidsFile = (owner: number) => join(tmpdir(), `${NETNS_PREFIX}${owner}.pids`);
/** Interface names are at most 15 characters: `zh` + pid (≤ 7 digits) + a short role. */
const LINK = /^zh(\d+)(br|h\d+)$/;

export interface VirtualHost {
  name: string;
  netns: string;
  /** This host's address on the bridge. */
  address: string;
  /** The root end of its veth pair: down, the host is cut off (its packets go nowhere, nobody is told). */
  link: string;
  /** Runs `command` inside this host's namespace (`ip netns exec` execs it: the pid is the command's). */
  start(command: string, args: string[], opts?: { env?: Record<string, string | undefined> }): RunningProcess;
  /** Takes the root end of the host's link down: a silent partition, like a pulled cable. */
  cut(): Promise<void>;
  heal(): Promise<void>;
}

export interface VirtualHosts {
  /** The root namespace's address on the bridge: where shared services listen for the hosts. */
  rootAddress: string;
  hosts: Record<string, VirtualHost>;
  /**
   * Records a process this run started outside the hosts (a redis-server in the root namespace), so
   * that if the run dies before `remove()`, the next run's `removeLeftoverVirtualHosts` ends it.
   */
  track(pid: number): Promise<void>;
  /** Kills every process still in a host, then deletes the namespaces, veths and the bridge. */
  remove(): Promise<void>;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
};

async function killAndDeleteNetns(netns: string): Promise<void> {
  // A namespace lives on while a process is in it: end those first (only this run's or a dead run's).
  const pids = (await ip("netns", "pids", netns).catch(() => "")).split(/\s+/).filter(Boolean).map(Number);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  await ip("netns", "del", netns).catch(() => {});
}

const comm = (pid: number) =>
  readFile(`/proc/${pid}/comm`, "utf8").then(
    (c) => c.trim(),
    () => null,
  );

const links = async () =>
  (await ip("-o", "link", "show"))
    .split("\n")
    .map((l) => l.split(":")[1]?.trim().split("@")[0] ?? "")
    .filter(Boolean);

/**
 * Removes the namespaces and links a run of `startVirtualHosts` left behind when its process died
 * before cleaning up (the pid in their names is gone). Returns what it removed.
 */
export async function removeLeftoverVirtualHosts(): Promise<string[]> {
  const removed: string[] = [];
  const namespaces = (await ip("netns", "list").catch(() => ""))
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith(NETNS_PREFIX));
  for (const netns of namespaces) {
    const pid = Number(netns.slice(NETNS_PREFIX.length).split("-")[0]);
    if (Number.isInteger(pid) && !alive(pid)) {
      await killAndDeleteNetns(netns);
      removed.push(netns);
    }
  }
  for (const link of await links()) {
    const m = LINK.exec(link);
    if (m && !alive(Number(m[1]))) {
      await ip("link", "del", link).catch(() => {});
      removed.push(link);
    }
  }
  const files = (await readdir(tmpdir())).filter((f) => f.startsWith(NETNS_PREFIX) && f.endsWith(".pids"));
  for (const file of files) {
    const owner = Number(file.slice(NETNS_PREFIX.length, -".pids".length));
    if (!Number.isInteger(owner) || alive(owner)) continue;
    for (const line of (await readFile(join(tmpdir(), file), "utf8")).split("\n").filter(Boolean)) {
      const [pid, name] = line.split(" ");
      // Only the process recorded, not another that has its pid since.
      if (name && (await comm(Number(pid))) === name) {
        process.kill(Number(pid), "SIGKILL");
        removed.push(`${name} ${pid}`);
      }
    }
    await rm(join(tmpdir(), file), { force: true });
  }
  return removed;
}

/** Null when namespaces, veths and bridges can be made here; otherwise why not. */
export async function virtualHostsUnavailable(): Promise<string | null> {
  if (process.getuid?.() !== 0) return "not running as root";
  const probe = `${NETNS_PREFIX}${process.pid}-probe`;
  try {
    await ip("netns", "add", probe);
    await ip("-n", probe, "link", "add", "probe0", "type", "veth", "peer", "name", "probe1");
    await ip("-n", probe, "link", "add", "probebr", "type", "bridge");
    return null;
  } catch (err) {
    return (err as Error).message.split("\n")[0] ?? String(err);
  } finally {
    await ip("netns", "del", probe).catch(() => {});
  }
}

/** A 10.200.X.0/24 no interface of this machine has yet. */
async function freeSubnet(): Promise<string> {
  const used = await ip("-o", "-4", "addr", "show");
  for (let i = 0; i < 250; i++) {
    const x = ((process.pid + i) % 250) + 1;
    if (!used.includes(`10.200.${x}.`)) return `10.200.${x}`;
  }
  throw new Error("no free 10.200.X.0/24 subnet");
}

/** Makes one namespace per name (up to 250), each linked to a new bridge in the root namespace. */
export async function startVirtualHosts(names: string[]): Promise<VirtualHosts> {
  const subnet = await freeSubnet();
  const rootAddress = `${subnet}.1`;
  const bridge = `zh${process.pid}br`;
  const hosts: Record<string, VirtualHost> = {};
  const processes: RunningProcess[] = [];
  const made = { bridge: false, netns: [] as string[], links: [] as string[] };

  const remove = async () => {
    await Promise.all(processes.map((p) => p.stop("SIGKILL")));
    await rm(pidsFile(process.pid), { force: true });
    for (const netns of made.netns) await killAndDeleteNetns(netns);
    // Deleting a namespace deletes its end of the veth and so the pair; delete again in case it did not.
    for (const link of made.links) await ip("link", "del", link).catch(() => {});
    if (made.bridge) await ip("link", "del", bridge).catch(() => {});
  };

  try {
    await ip("link", "add", bridge, "type", "bridge");
    made.bridge = true;
    await ip("addr", "add", `${rootAddress}/24`, "dev", bridge);
    await ip("link", "set", bridge, "up");
    for (const [i, name] of names.entries()) {
      const netns = `${NETNS_PREFIX}${process.pid}-${name}`;
      const link = `zh${process.pid}h${i}`;
      const address = `${subnet}.${i + 2}`;
      await ip("netns", "add", netns);
      made.netns.push(netns);
      await ip("link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", netns);
      made.links.push(link);
      await ip("link", "set", link, "master", bridge, "up");
      await ip("-n", netns, "addr", "add", `${address}/24`, "dev", "eth0");
      await ip("-n", netns, "link", "set", "eth0", "up");
      await ip("-n", netns, "link", "set", "lo", "up");
      hosts[name] = {
        name,
        netns,
        address,
        link,
        start: (command, args, opts = {}) => {
          const p = startProcess("ip", ["netns", "exec", netns, command, ...args], opts);
          processes.push(p);
          return p;
        },
        cut: async () => {
          await ip("link", "set", link, "down");
        },
        heal: async () => {
          await ip("link", "set", link, "up");
        },
      };
    }
  } catch (err) {
    await remove();
    throw err;
  }
  const track = async (pid: number) => {
    const name = await comm(pid);
    if (name) await appendFile(pidsFile(process.pid), `${pid} ${name}\n`);
  };
  return { rootAddress, hosts, track, remove };
}
