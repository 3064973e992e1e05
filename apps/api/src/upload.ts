import { GatewayError } from "@zimage/core";
import type { RequestHandler } from "express";
import multer from "multer";

/**
 * Multipart parsing for edit jobs: memory storage (the file is probed and written to storage
 * before queueing), one file, bounded sizes for the file and the text fields.
 */
export function imageUpload(maxFileBytes: number): RequestHandler {
  const parse = multer({
    storage: multer.memoryStorage(),
    limits: {
      fileSize: maxFileBytes,
      files: 1,
      fields: 20,
      fieldSize: 64 * 1024,
      parts: 24,
      headerPairs: 100,
    },
  }).single("image");

  return (req, res, next) => {
    parse(req, res, (err: unknown) => {
      if (!err) return next();
      if (err instanceof multer.MulterError) {
        if (err.code === "LIMIT_FILE_SIZE") {
          return next(
            new GatewayError("payload_too_large", `the image is larger than ${maxFileBytes} bytes`),
          );
        }
        const message =
          err.code === "LIMIT_UNEXPECTED_FILE" || err.code === "LIMIT_FILE_COUNT"
            ? 'send exactly one file, in the "image" field'
            : `multipart limit exceeded: ${err.message}`;
        return next(new GatewayError("invalid_request", message, { multer: err.code, field: err.field }));
      }
      // busboy's parse errors (malformed boundary, truncated body) are the client's mistake.
      next(new GatewayError("invalid_request", `malformed multipart body: ${(err as Error).message}`));
    });
  };
}
