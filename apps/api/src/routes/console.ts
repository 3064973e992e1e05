import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import express, { type RequestHandler, Router } from "express";

/**
 * apps/console/dist, next to this app in the checkout and in the production tree (Docker image). This
 * module runs from apps/api/src/routes/ under tsx and from apps/api/dist/main.js once built.
 */
export const DEFAULT_CONSOLE_DIR = resolve(
  fileURLToPath(
    new URL(
      import.meta.url.endsWith(".ts") ? "../../../console/dist" : "../../console/dist",
      import.meta.url,
    ),
  ),
);

// The console is built to need nothing but this origin: no CDN, no inline script or style.
const CSP = [
  "default-src 'self'",
  "img-src 'self' blob: data:",
  "style-src 'self'",
  "script-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const headers: RequestHandler = (_req, res, next) => {
  res.set({
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
  });
  next();
};

const notBuilt = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Z-Image Gateway</title></head>
<body><h1>Z-Image Gateway</h1><p>The web console is not built. Run
<code>npx -y pnpm@10 --filter @zimage/console build</code> (<code>pnpm start</code> does it for you) and reload.</p>
<p>The API is at <a href="/docs">/docs</a>.</p></body></html>`;

/**
 * The web console at `/`: its index page (never cached, so a new build shows at once) and its
 * hashed `/assets/*` (cached for good). The console routes by URL hash, so no fallback is needed.
 */
export function consoleRouter(dir = DEFAULT_CONSOLE_DIR): Router {
  const router = Router();
  const index = join(dir, "index.html");
  router.get("/", headers, (_req, res) => {
    res.set("Cache-Control", "no-cache");
    if (!existsSync(index)) return res.status(503).type("html").send(notBuilt);
    res.sendFile(index);
  });
  router.use(
    "/assets",
    headers,
    express.static(join(dir, "assets"), { immutable: true, maxAge: "365d", index: false }),
  );
  // Other files of the build (icons).
  router.use(headers, express.static(dir, { index: false, maxAge: "1h" }));
  return router;
}

/**
 * The built console's stylesheet (`/assets/index-<hash>.css`, named in its index.html), for pages
 * the api renders itself (the queue admin's sign-in) to look like the console; null when the console
 * is not built. Read per call: a rebuild renames it.
 */
export async function consoleStylesheet(dir = DEFAULT_CONSOLE_DIR): Promise<string | null> {
  const html = await readFile(join(dir, "index.html"), "utf8").catch(() => "");
  const link = /<link\b[^>]*\brel="stylesheet"[^>]*>/.exec(html)?.[0];
  const href = link && /\bhref="(\/assets\/[\w.-]+\.css)"/.exec(link)?.[1];
  return href ?? null;
}
