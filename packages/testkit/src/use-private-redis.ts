import { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { type PrivateRedis, startRedis } from "./redis-server";

/**
 * For a test file: a private redis-server and one connection to it, started before the tests and
 * stopped after. Read `conn`/`server` inside tests (they exist once beforeAll has run).
 */
export function usePrivateRedis(): { readonly conn: Redis; readonly server: PrivateRedis } {
  let server: PrivateRedis | undefined;
  let conn: Redis | undefined;
  beforeAll(async () => {
    server = await startRedis();
    conn = new Redis(server.url, { maxRetriesPerRequest: 2 });
  });
  afterAll(async () => {
    conn?.disconnect();
    await server?.stop();
  });
  return {
    get conn() {
      if (!conn) throw new Error("usePrivateRedis: read conn inside a test");
      return conn;
    },
    get server() {
      if (!server) throw new Error("usePrivateRedis: read server inside a test");
      return server;
    },
  };
}
