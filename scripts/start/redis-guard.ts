/**
 * Runs redis-server for `pnpm start` and makes sure it does not outlive start.ts.
 *
 * redis-server cannot be told to exit with its parent, so this small Node process sits between them:
 * `node --import tsx --import ./exit-with-parent.ts redis-guard.ts <redis-server args>`. The preload
 * turns start.ts's end (even by SIGKILL) into a SIGTERM here, and any SIGTERM here becomes one
 * SIGTERM to redis-server, which then writes its AOF and exits; this process exits with it. A guard
 * was chosen over a pidfile checked at the next start because a pidfile leaves the server running
 * until that next start (answering on the port, so the next start would even adopt it), and over
 * PR_SET_PDEATHSIG (setpriv --pdeathsig) because that is Linux-only.
 */
import { spawn } from "node:child_process";
import { constants } from "node:os";

const redis = spawn("redis-server", process.argv.slice(2), { stdio: ["ignore", "inherit", "inherit"] });

redis.on("error", (err: NodeJS.ErrnoException) => {
  process.stderr.write(
    err.code === "ENOENT"
      ? "redis-server is not installed: install Redis 7 (e.g. apt-get install redis-server) or set REDIS_URL\n"
      : `redis-server could not start: ${err.message}\n`,
  );
  process.exit(127);
});

redis.on("exit", (code, signal) => {
  process.exit(code ?? (signal ? 128 + constants.signals[signal] : 1));
});

// One SIGTERM, whatever reaches us: a second SIGINT would make Redis exit without writing its AOF.
let asked = false;
function stopRedis(): void {
  if (asked) return;
  asked = true;
  redis.kill("SIGTERM");
}
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(signal, stopRedis);
