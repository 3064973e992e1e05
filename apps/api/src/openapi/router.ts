import { Router } from "express";
import { DOCS_CSS, DOCS_HTML, DOCS_JS } from "./docs-page";
import { openapiDocument } from "./document";

/** `GET /openapi.json` and `GET /docs`, public and self-contained. */
export function openapiRouter(): Router {
  const router = Router();
  const body = JSON.stringify(openapiDocument);
  const csp =
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'";
  router.get("/openapi.json", (_req, res) => {
    res.type("application/json").send(body);
  });
  router.get("/docs", (_req, res) => {
    res.set("Content-Security-Policy", csp).type("html").send(DOCS_HTML);
  });
  router.get("/docs/docs.js", (_req, res) => {
    res.set("Content-Security-Policy", csp).type("application/javascript").send(DOCS_JS);
  });
  router.get("/docs/docs.css", (_req, res) => {
    res.type("text/css").send(DOCS_CSS);
  });
  return router;
}
