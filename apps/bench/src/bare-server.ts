import express from "express";

/**
 * The baseline for status polling: a bare Express handler answering a stored job view, in its own
 * process like the api. `BODY` is the JSON to answer.
 */
const body = process.env.BODY ?? "{}";
const app = express();
app.disable("x-powered-by");
app.set("etag", false);
app.get("/v1/jobs/:id", (_req, res) => {
  res.type("application/json").send(body);
});
const server = app.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const addr = server.address();
  process.stdout.write(`bare listening on ${typeof addr === "object" && addr ? addr.port : 0}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
