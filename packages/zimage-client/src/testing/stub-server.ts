import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A request as the stub saw it, body fully read. */
export interface StubRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: Buffer;
  raw: IncomingMessage;
}

export type StubHandler = (req: StubRequest, res: ServerResponse) => void | Promise<void>;

export interface StubServer {
  url: string;
  port: number;
  requests: StubRequest[];
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 with an ephemeral port, for the upstream behaviours the simulator
 * does not produce (broken bodies, resets, hangs). Test-only; not exported from the package.
 */
export async function startStub(handler: StubHandler): Promise<StubServer> {
  const requests: StubRequest[] = [];
  const server = createServer(async (raw, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of raw) chunks.push(chunk as Buffer);
    const req: StubRequest = {
      method: raw.method ?? "",
      path: raw.url ?? "",
      headers: raw.headers,
      body: Buffer.concat(chunks),
      raw,
    };
    requests.push(req);
    try {
      await handler(req, res);
    } catch (err) {
      // An assertion failing inside the handler must reach the test, not hang it.
      if (!res.headersSent) res.writeHead(599, { "content-type": "text/plain" });
      res.end(`stub handler threw: ${(err as Error).stack}`);
    }
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, contentType: string, text: string): void {
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export const ONE_IMAGE = {
  created: 1_700_000_000,
  data: [{ b64_json: "iVBORw0KGgo=", revised_prompt: "a cat" }],
};
