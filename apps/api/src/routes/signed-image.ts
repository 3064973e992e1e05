import { pipeline } from "node:stream";
import { GatewayError, type Logger, reportInternalError } from "@zimage/core";
import { type Response, Router } from "express";
import type { JobService } from "../job-service";
import type { Principal } from "../principal";

/** Signed URLs are checked against the image itself, so their holder acts with no other rights. */
const SIGNED_URL_HOLDER: Principal = {
  id: "signed-url",
  name: "signed URL",
  role: "admin",
  limits: { rate_per_minute: 1, max_pending: 1, priority_weight: 1 },
};

const CLIENT_GONE = new Set(["ERR_STREAM_PREMATURE_CLOSE", "EPIPE", "ECONNRESET"]);

export async function sendImage(
  res: Response,
  image: Awaited<ReturnType<JobService["openImage"]>>,
  logger: Logger,
): Promise<void> {
  res.set({
    "Content-Type": "image/png",
    "Content-Length": String(image.size),
    ETag: `"${image.sha256}"`,
    // Results never change once written; only the owner's browser may keep them.
    "Cache-Control": "private, max-age=86400, immutable",
    "Content-Disposition": `inline; filename="${image.filename}"`,
  });
  // pipeline, not pipe: a client that leaves releases the store's read (an S3 connection), and a
  // read that fails midway (a cut connection, an integrity check) cuts the response short of its
  // Content-Length, so the client sees an incomplete image, never a complete-looking wrong one.
  pipeline(image.stream, res, (err) => {
    // A client that left early is not a fault of ours; a failed read is.
    if (err && !CLIENT_GONE.has((err as { code?: string }).code ?? ""))
      reportInternalError(logger, "image_stream", err, { filename: image.filename });
  });
}

/**
 * `GET /v1/jobs/:id/images/:index?expires=…&sig=…` answers without an API key when the signature
 * holds (job views carry such URLs). Without `sig` the request goes on to the authenticated route.
 */
export function signedImageRouter(opts: {
  jobs: JobService;
  verify: (id: string, index: number, expires: string, sig: string) => "ok" | "invalid" | "expired";
  logger: Logger;
  /** S3_RESULT_DELIVERY=redirect: answer with a presigned URL of this many seconds instead of streaming. */
  redirectSeconds?: number | null;
}): Router {
  const router = Router();
  router.get("/v1/jobs/:id/images/:index", async (req, res, next) => {
    const { sig, expires } = req.query;
    if (sig === undefined) return next();
    const index = /^\d{1,2}$/.test(req.params.index) ? Number(req.params.index) : -1;
    const verdict =
      typeof sig === "string" && typeof expires === "string" && index >= 0
        ? opts.verify(req.params.id, index, expires, sig)
        : "invalid";
    if (verdict === "expired")
      throw new GatewayError(
        "signed_url_expired",
        "this image link has expired; get a fresh one from the job",
      );
    if (verdict !== "ok") throw new GatewayError("signed_url_invalid", "this image link is not valid");
    if (opts.redirectSeconds) {
      const url = await opts.jobs.imageRedirect(
        SIGNED_URL_HOLDER,
        req.params.id,
        req.params.index,
        opts.redirectSeconds,
      );
      // The presigned URL is itself a credential for a few minutes: never cached.
      if (url) return void res.set("Cache-Control", "no-store").redirect(302, url);
    }
    await sendImage(
      res,
      await opts.jobs.openImage(SIGNED_URL_HOLDER, req.params.id, req.params.index),
      opts.logger,
    );
  });
  return router;
}
